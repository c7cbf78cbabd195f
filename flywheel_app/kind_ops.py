"""How the flywheel app does what differs between kinds of model: by the shape of a kind's data
(models_app.kinds' `data_shape`: "labels" per document, or typed text "spans"), never by naming
the kind. Each place that differs gives one function (or value) per shape; a kind whose shape
a place does not know fails there loudly."""

from models_app import kinds

SHAPES = ("labels", "spans")


def pick(kind: str, **by_shape):
    """The one of `by_shape` (keyword = data shape) that the kind's data shape selects."""
    missing = set(SHAPES) - set(by_shape)
    if missing:
        raise TypeError(f"pick() needs every data shape; missing {', '.join(sorted(missing))}")
    return by_shape[kinds.get(kind).data_shape]
