"""RQ entry point of flywheel iterations: takes a primary key, calls one service."""


def iteration_run_job(iteration_id: int) -> None:
    """Build an iteration's data, train its new version and score it against the active one."""
    from flywheel_app.services.iterations import iteration_run

    iteration_run(iteration_id=iteration_id)
