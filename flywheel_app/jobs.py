"""RQ entry points: take primary keys, call one service."""


def flywheel_prepare_job(flywheel_id: int) -> None:
    """Fill a new flywheel's data lake from its starting version and make it ACTIVE."""
    from flywheel_app.services.flywheels import flywheel_prepare

    flywheel_prepare(flywheel_id=flywheel_id)


def dataset_ingest_job(dataset_id: int) -> None:
    """Validate a dataset and write it into its flywheel's data lake."""
    from flywheel_app.services.datasets import dataset_ingest

    dataset_ingest(dataset_id=dataset_id)
