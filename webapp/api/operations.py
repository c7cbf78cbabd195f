"""The table from X-Amz-Target operation name to its handler(account, user, body) -> dict."""

from webapp.api.handlers import models, tags

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
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
}
