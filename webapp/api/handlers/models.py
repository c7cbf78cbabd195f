"""Document classifiers and entity recognizers: list, describe and the rest of their operations."""

from models_app import selectors
from models_app.models import ModelKind
from models_app.presenters import version_properties
from webapp.api import protocol

_FILTER_NAME = {
    ModelKind.CLASSIFIER: "DocumentClassifierName",
    ModelKind.RECOGNIZER: "RecognizerName",
}
_LIST_KEY = {
    ModelKind.CLASSIFIER: "DocumentClassifierPropertiesList",
    ModelKind.RECOGNIZER: "EntityRecognizerPropertiesList",
}


def _list(kind):
    def handler(account, user, body):
        flt = body.get("Filter") or {}
        qs = selectors.versions_filtered(
            account,
            kind,
            status=flt.get("Status"),
            name=flt.get(_FILTER_NAME[kind]),
            submitted_before=_time(flt.get("SubmitTimeBefore")),
            submitted_after=_time(flt.get("SubmitTimeAfter")),
        )
        rows, token = protocol.page(
            qs,
            next_token=body.get("NextToken"),
            max_results=body.get("MaxResults"),
            scope=f"list-{kind}-{sorted(flt.items())}",
        )
        return {_LIST_KEY[kind]: [version_properties(v) for v in rows], "NextToken": token}

    return handler


def _time(value):
    from datetime import UTC, datetime

    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


list_document_classifiers = _list(ModelKind.CLASSIFIER)
list_entity_recognizers = _list(ModelKind.RECOGNIZER)
