"""The table from X-Amz-Target operation name to its handler(account, user, body) -> dict."""

from webapp.api.handlers import inference, model_copy, models, tags

OPERATIONS = {
    "CreateDocumentClassifier": models.create_document_classifier,
    "DescribeDocumentClassifier": models.describe_document_classifier,
    "ListDocumentClassifiers": models.list_document_classifiers,
    "ListDocumentClassifierSummaries": models.list_document_classifier_summaries,
    "StopTrainingDocumentClassifier": models.stop_training_document_classifier,
    "DeleteDocumentClassifier": models.delete_document_classifier,
    "CreateEntityRecognizer": models.create_entity_recognizer,
    "DescribeEntityRecognizer": models.describe_entity_recognizer,
    "ListEntityRecognizers": models.list_entity_recognizers,
    "ListEntityRecognizerSummaries": models.list_entity_recognizer_summaries,
    "StopTrainingEntityRecognizer": models.stop_training_entity_recognizer,
    "DeleteEntityRecognizer": models.delete_entity_recognizer,
    "CreateEndpoint": inference.create_endpoint,
    "DescribeEndpoint": inference.describe_endpoint,
    "ListEndpoints": inference.list_endpoints,
    "UpdateEndpoint": inference.update_endpoint,
    "DeleteEndpoint": inference.delete_endpoint,
    "ClassifyDocument": inference.classify_document,
    "DetectEntities": inference.detect_entities,
    "StartDocumentClassificationJob": inference.start_document_classification_job,
    "DescribeDocumentClassificationJob": inference.describe_document_classification_job,
    "ListDocumentClassificationJobs": inference.list_document_classification_jobs,
    "StartEntitiesDetectionJob": inference.start_entities_detection_job,
    "DescribeEntitiesDetectionJob": inference.describe_entities_detection_job,
    "ListEntitiesDetectionJobs": inference.list_entities_detection_jobs,
    "StopEntitiesDetectionJob": inference.stop_entities_detection_job,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
    "PutResourcePolicy": model_copy.put_resource_policy,
    "DescribeResourcePolicy": model_copy.describe_resource_policy,
    "DeleteResourcePolicy": model_copy.delete_resource_policy,
    "ImportModel": model_copy.import_model,
}

# Operations that change nothing: the gateway runs them outside a transaction.
READ_ONLY = frozenset({"ClassifyDocument", "DetectEntities"})
