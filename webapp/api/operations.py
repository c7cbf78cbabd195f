"""The table from X-Amz-Target operation name to its handler(account, user, body) -> dict."""

from webapp.api.handlers import models, tags

OPERATIONS = {
    "ListDocumentClassifiers": models.list_document_classifiers,
    "ListEntityRecognizers": models.list_entity_recognizers,
    "TagResource": tags.tag_resource,
    "UntagResource": tags.untag_resource,
    "ListTagsForResource": tags.list_tags_for_resource,
}
