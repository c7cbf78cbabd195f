"""Reads of models_app, always scoped to an account, by sub-domain; the access gates live here."""

from models_app.selectors.analysis_jobs import (
    active_jobs_using,
    job_for,
    job_lookup,
    jobs,
    jobs_filtered,
)
from models_app.selectors.endpoints import (
    endpoint_for,
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
    owner_of_version,
    version_for,
    versions,
    versions_filtered,
)

__all__ = [
    "versions",
    "versions_filtered",
    "one_filter",
    "version_for",
    "owner_of_version",
    "models",
    "models_with_latest",
    "model_lookup",
    "endpoints",
    "endpoint_for",
    "endpoint_route",
    "version_for_serving",
    "endpoints_filtered",
    "endpoint_lookup",
    "endpoints_using",
    "usable_versions",
    "jobs",
    "jobs_filtered",
    "job_for",
    "job_lookup",
    "active_jobs_using",
]
