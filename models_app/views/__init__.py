"""Console pages of models_app, by sub-domain; urls.py reads them from here."""

from models_app.views.analysis_jobs import (
    job_create,
    job_detail,
    job_list,
    job_output,
    job_progress,
    job_stop,
)
from models_app.views.endpoints import (
    endpoint_analyze,
    endpoint_create,
    endpoint_delete,
    endpoint_detail,
    endpoint_list,
    endpoint_status,
    endpoint_update,
)
from models_app.views.model_copy import (
    policy_delete,
    policy_edit,
    version_import,
)
from models_app.views.versions import (
    classifier_version_output,
    model_create,
    model_detail,
    model_list,
    model_versions,
    output_archive,
    recognizer_version_metrics,
    recognizer_version_try,
    version_delete,
    version_detail,
    version_status,
    version_stop,
)

__all__ = [
    "model_list",
    "model_create",
    "model_detail",
    "model_versions",
    "version_detail",
    "version_status",
    "classifier_version_output",
    "output_archive",
    "recognizer_version_metrics",
    "recognizer_version_try",
    "version_stop",
    "version_delete",
    "policy_edit",
    "policy_delete",
    "version_import",
    "endpoint_list",
    "endpoint_create",
    "endpoint_detail",
    "endpoint_status",
    "endpoint_update",
    "endpoint_delete",
    "endpoint_analyze",
    "job_list",
    "job_create",
    "job_detail",
    "job_progress",
    "job_output",
    "job_stop",
]
