"""The flywheel pages say what the services refuse with the flywheel's name and in plain
states, where the API says the same with its ARN and status codes."""

import re

import pytest
from django.urls import reverse

from flywheel_app.models import FlywheelStatus
from flywheel_app.services import flywheels
from flywheel_app.views.common import said
from tests import factories
from tests.models_app.pages import text

ARN = "arn:aws:comprehend:us-east-1:111122223333:flywheel/news-fw"


@pytest.mark.parametrize(
    "message, words",
    [
        (
            f"The flywheel {ARN} is CREATING; iterations run on an ACTIVE flywheel.",
            "The flywheel news-fw is still being created; iterations run on an active flywheel.",
        ),
        (
            f"The flywheel {ARN} has a dataset being created (rows); start the iteration when "
            "it is COMPLETED.",
            "The flywheel news-fw has a dataset being created (rows); start the iteration when "
            "it is completed.",
        ),
        (
            f"The flywheel {ARN} has no new dataset: add a TRAIN or TEST dataset and wait for it "
            "to be COMPLETED.",
            "The flywheel news-fw has no new dataset: add a training or test dataset and wait "
            "for it to be completed.",
        ),
        (
            "The model arn:aws:comprehend:us-east-1:111122223333:document-classifier/news/"
            f"version/v2 does not fit the flywheel {ARN}: another language.",
            "The model news · v2 does not fit the flywheel news-fw: another language.",
        ),
    ],
)
def test_services_messages_are_said_with_names_and_plain_states(message, words):
    assert said(message) == words


def test_run_flywheel_on_a_flywheel_being_created_says_so_by_name(client, owner):
    version = factories.version(
        owner,
        name="intents",
        version_name="v1",
        artifact_uri="x",
        artifact_sha256="a" * 64,
        input_data_config={"S3Uri": "s3://data/train.csv"},
        language_code="en",
    )
    flywheel = flywheels.flywheel_create(
        account=owner.membership.account,
        name="intents-fw",
        data_access_role_arn=f"arn:aws:iam::{owner.membership.account.account_id}:role/C",
        data_lake_s3_uri="s3://lake/fw",
        active_model_arn=version.arn,
    )
    assert flywheel.status == FlywheelStatus.CREATING  # its job has not run
    client.force_login(owner)
    resp = client.post(reverse("flywheel_app:iteration-start", args=[flywheel.name]), follow=True)
    shown = re.search(r'<div class="messages">(.*?)</div></div>', text(resp), re.S).group(1)
    assert (
        "The flywheel intents-fw is still being created; iterations run on an active flywheel."
        in shown
    )
    assert "arn:" not in shown and "CREATING" not in shown
