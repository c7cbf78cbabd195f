"""Flywheel iterations: start one, describe one, list a flywheel's history."""

from flywheel_app import selectors
from flywheel_app.iteration_presenters import iteration_properties
from flywheel_app.selectors.iterations import iterations_filtered
from flywheel_app.services import iterations
from webapp.api import protocol


def start_flywheel_iteration(account, user, body):
    iteration = iterations.flywheel_iteration_start(
        account=account,
        flywheel_arn=body["FlywheelArn"],
        client_request_token=body.get("ClientRequestToken"),
    )
    return {"FlywheelArn": iteration.flywheel.arn, "FlywheelIterationId": iteration.iteration_id}


def describe_flywheel_iteration(account, user, body):
    iteration = iterations.iteration_describe(
        account=account,
        flywheel_arn=body["FlywheelArn"],
        iteration_id=body["FlywheelIterationId"],
    )
    return {"FlywheelIterationProperties": iteration_properties(iteration)}


def list_flywheel_iteration_history(account, user, body):
    flywheel = selectors.flywheel_for(account, body["FlywheelArn"])
    flt = body.get("Filter") or {}
    qs = iterations_filtered(
        flywheel,
        created_before=protocol.filter_time(flt.get("CreationTimeBefore")),
        created_after=protocol.filter_time(flt.get("CreationTimeAfter")),
    )
    return protocol.listing(
        qs,
        body,
        key="FlywheelIterationPropertiesList",
        render=iteration_properties,
        scope=f"iterations-{flywheel.pk}-{sorted(flt.items())}",
    )
