"""Reads of models_app, always scoped to an account, by sub-domain; the access gates live here."""

from models_app.selectors.analysis_jobs import (
    active_jobs_using,
    job_by_id,
    job_lookup,
    jobs,
    jobs_filtered,
)
from models_app.selectors.endpoints import (
    endpoint_by_arn,
    endpoint_lookup,
    endpoint_route,
    endpoints,
    endpoints_filtered,
    endpoints_using,
    usable_versions,
    version_for_serving,
)
from models_app.selectors.versions import (
    model_lookup,
    models,
    models_with_latest,
    one_filter,
    version_by_arn,
    versions,
    versions_filtered,
)

__all__ = [
    "versions",
    "versions_filtered",
    "one_filter",
    "version_by_arn",
    "models",
    "models_with_latest",
    "model_lookup",
    "endpoints",
    "endpoint_by_arn",
    "endpoint_route",
    "version_for_serving",
    "endpoints_filtered",
    "endpoint_lookup",
    "endpoints_using",
    "usable_versions",
    "jobs",
    "jobs_filtered",
    "job_by_id",
    "job_lookup",
    "active_jobs_using",
]
