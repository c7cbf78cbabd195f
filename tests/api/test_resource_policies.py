"""PutResourcePolicy, DescribeResourcePolicy, DeleteResourcePolicy and ModelPolicy through boto3,
in two accounts."""

import functools
import importlib.util
import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from models_app.models import CustomModel, ModelKind, ModelVersion, ResourcePolicy
from tests import factories
from tests.conftest import BAD_INPUTS
from webapp.accounts.models import AuditEvent
from webapp.accounts.services.access_keys import access_key_create
from webapp.core.models import OutboxEntry


def error_of(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]


def account_id(user) -> str:
    return user.membership.account.account_id


def policy_for(arn: str, *principals: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ModelCopy",
                    "Effect": "Allow",
                    "Action": ["comprehend:ImportModel"],
                    "Resource": arn,
                    "Principal": {"AWS": list(principals)},
                }
            ],
        }
    )


def walkthrough_policy(source_account: str, target_account: str) -> tuple[str, str]:
    """The ARN and policy of the model copy walkthrough's put-resource-policy command, with its
    placeholders filled: the region, the source account, and the target account's root (the
    walkthrough: "We specify root as the IAM entity to authorize all users in the target
    account"). The policy keeps the line breaks and indentation of the command as printed."""
    arn = (
        f"arn:aws:comprehend:us-east-1:{source_account}:entity-recognizer/"
        "AWS-Offerings-Entity-Recognizer-Dev/version/1"
    )
    policy = (
        '{"Version":"2012-10-17",\n'
        '    "Statement":[{"Sid":"ModelCopy",\n'
        '    "Effect":"Allow","Action":["comprehend:ImportModel"],\n'
        f'    "Resource":"{arn}",\n'
        f'    "Principal":{{"AWS":["arn:aws:iam::{target_account}:root"], "Service": '
        '[ "comprehend.amazonaws.com.rproxy.goskope.com"]}}]}'
    )
    return arn, policy


def test_put_describe_delete_round_trip(api, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    client = api(owner)
    text = policy_for(version.arn, account_id(outsider))
    before = datetime.now().astimezone()
    revision = client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=text)[
        "PolicyRevisionId"
    ]
    assert len(revision) == 32 and int(revision, 16) >= 0
    described = client.describe_resource_policy(ResourceArn=version.arn)
    assert described["ResourcePolicy"] == text
    assert described["PolicyRevisionId"] == revision
    assert described["CreationTime"] == described["LastModifiedTime"]
    assert described["CreationTime"].timestamp() >= before.timestamp() - 1

    # A put without a revision replaces; with the current one it replaces too.
    replaced = policy_for(version.arn, f"arn:aws:iam::{account_id(outsider)}:user/outsider")
    second = client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=replaced)[
        "PolicyRevisionId"
    ]
    third = client.put_resource_policy(
        ResourceArn=version.arn, ResourcePolicy=text, PolicyRevisionId=second
    )["PolicyRevisionId"]
    assert len({revision, second, third}) == 3
    described = client.describe_resource_policy(ResourceArn=version.arn)
    assert described["PolicyRevisionId"] == third and described["ResourcePolicy"] == text
    assert described["LastModifiedTime"] >= described["CreationTime"]

    response = client.delete_resource_policy(ResourceArn=version.arn, PolicyRevisionId=third)
    assert set(response) == {"ResponseMetadata"}
    error = error_of(lambda: client.describe_resource_policy(ResourceArn=version.arn))
    assert error["Code"] == "ResourceNotFoundException"
    error = error_of(lambda: client.delete_resource_policy(ResourceArn=version.arn))
    assert error["Code"] == "ResourceNotFoundException"

    log = AuditEvent.objects.filter(
        account=owner.membership.account, operation__endswith="ResourcePolicy"
    ).order_by("id")
    assert [(e.operation, e.outcome, e.revision) for e in log] == [
        ("PutResourcePolicy", "Succeeded", revision),
        ("PutResourcePolicy", "Succeeded", second),
        ("PutResourcePolicy", "Succeeded", third),
        ("DeleteResourcePolicy", "Succeeded", third),
    ]
    assert {(e.actor_account_id, e.actor_user, e.resource_arn) for e in log} == {
        (account_id(owner), "owner", version.arn)
    }
    assert all(e.client_address for e in log)


def test_the_walkthrough_policy_is_accepted_as_written(api, live_server, owner, outsider):
    factories.version(
        owner,
        name="AWS-Offerings-Entity-Recognizer-Dev",
        version_name="1",
        kind=ModelKind.RECOGNIZER,
    )
    arn, policy = walkthrough_policy(account_id(owner), account_id(outsider))
    if importlib.util.find_spec("awscli") is not None:
        key, secret = access_key_create(account=owner.membership.account, user=owner)
        env = dict(
            os.environ,
            AWS_ACCESS_KEY_ID=key.key_id,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION="us-east-1",
            AWS_CONFIG_FILE=os.devnull,
            AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        )
        aws = Path(sys.executable).with_name("aws")
        out = subprocess.run(
            [str(aws), "comprehend", "put-resource-policy", "--endpoint-url", live_server.url]
            + ["--resource-arn", arn, "--resource-policy", policy],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        revision = json.loads(out.stdout)["PolicyRevisionId"]
    else:
        client = api(owner)
        revision = client.put_resource_policy(ResourceArn=arn, ResourcePolicy=policy)[
            "PolicyRevisionId"
        ]
    described = api(owner).describe_resource_policy(ResourceArn=arn)
    assert described["ResourcePolicy"] == policy and described["PolicyRevisionId"] == revision


def test_stale_and_unexpected_revisions_are_refused(api, owner):
    version = factories.version(owner, name="news", version_name="v1")
    client = api(owner)
    text = policy_for(version.arn, "111122223333")
    error = error_of(
        lambda: client.put_resource_policy(
            ResourceArn=version.arn, ResourcePolicy=text, PolicyRevisionId="0123abcd"
        )
    )
    assert error["Code"] == "InvalidRequestException" and "no resource policy" in error["Message"]
    assert not ResourcePolicy.objects.exists()

    first = client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=text)
    current = client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=text)
    stale = first["PolicyRevisionId"]
    for call in (
        lambda: client.put_resource_policy(
            ResourceArn=version.arn, ResourcePolicy=text, PolicyRevisionId=stale
        ),
        lambda: client.delete_resource_policy(ResourceArn=version.arn, PolicyRevisionId=stale),
    ):
        error = error_of(call)
        assert error["Code"] == "InvalidRequestException" and stale in error["Message"]
    described = client.describe_resource_policy(ResourceArn=version.arn)
    assert described["PolicyRevisionId"] == current["PolicyRevisionId"]
    # The refusals are in the log although each call's transaction was rolled back.
    refused = AuditEvent.objects.filter(outcome="Refused").order_by("id")
    assert [(e.operation, e.revision) for e in refused] == [
        ("PutResourcePolicy", "0123abcd"),
        ("PutResourcePolicy", stale),
        ("DeleteResourcePolicy", stale),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "x" * 20_001,
        '{"Version": "2012-10-17", "Statement": [], "Id": "price in €"}',
        '{"Version": "2012-10-17"}\u2028',
    ],
    ids=["20001-characters", "euro-sign", "line-separator"],
)
def test_text_outside_the_limits_is_a_validation_error(api, owner, text):
    version = factories.version(owner, name="news", version_name="v1")
    client = api(owner)
    error = error_of(
        lambda: client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=text)
    )
    assert error["Code"] == "ValidationException", error
    assert "resourcePolicy" in error["Message"]
    assert not ResourcePolicy.objects.exists()


def test_exactly_20000_characters_are_accepted(api, owner):
    version = factories.version(owner, name="news", version_name="v1")
    text = policy_for(version.arn, "111122223333")
    text = text[:-1] + " " * (20_000 - len(text)) + "}"
    assert len(text) == 20_000
    client = api(owner)
    client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=text)
    assert client.describe_resource_policy(ResourceArn=version.arn)["ResourcePolicy"] == text


def _statement(**members) -> str:
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "111122223333"},
        "Action": "comprehend:ImportModel",
        "Resource": "*",
    }
    statement.update(members)
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


GRAMMAR_REFUSALS = {
    "not-json": ("{'Version': '2012-10-17'}", "not valid JSON"),
    "version": ('{"Version": "2008-10-17", "Statement": []}', "Version"),
    "effect": (_statement(Effect="Maybe"), "Effect"),
    "not-principal": (_statement(NotPrincipal={"AWS": "111122223333"}), "NotPrincipal"),
    "principal": (_statement(Principal={"AWS": "someone"}), "Principal"),
    "action": (_statement(Action="comprehend:DetectEntities"), "comprehend:DetectEntities"),
    "resource": (
        _statement(Resource="arn:aws:comprehend:us-east-1:111122223333:document-classifier/x"),
        "Resource",
    ),
    "condition": (
        _statement(Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        "IpAddress",
    ),
}


@pytest.mark.parametrize("case", GRAMMAR_REFUSALS, ids=list(GRAMMAR_REFUSALS))
def test_each_family_of_grammar_refusal_is_an_invalid_request(api, owner, case):
    version = factories.version(owner, name="news", version_name="v1")
    text, named = GRAMMAR_REFUSALS[case]
    client = api(owner)
    error = error_of(
        lambda: client.put_resource_policy(ResourceArn=version.arn, ResourcePolicy=text)
    )
    assert error["Code"] == "InvalidRequestException", error
    assert named in error["Message"]
    assert not ResourcePolicy.objects.exists()


def test_another_accounts_version_answers_like_a_missing_one(api, owner, outsider):
    theirs = factories.version(owner, name="news", version_name="v1")
    factories.version(outsider, name="news", version_name="v1")  # B's own of the same name
    api(owner).put_resource_policy(
        ResourceArn=theirs.arn, ResourcePolicy=policy_for(theirs.arn, account_id(outsider))
    )
    missing = theirs.arn.replace("/v1", "/v9")
    client = api(outsider)
    text = policy_for("*", "*")
    calls = {
        "put": lambda arn: client.put_resource_policy(ResourceArn=arn, ResourcePolicy=text),
        "describe": lambda arn: client.describe_resource_policy(ResourceArn=arn),
        "delete": lambda arn: client.delete_resource_policy(ResourceArn=arn),
    }
    for name, call in calls.items():
        other = error_of(functools.partial(call, theirs.arn))
        absent = error_of(functools.partial(call, missing))
        assert other["Code"] == absent["Code"] == "ResourceNotFoundException", name
        assert other["Message"] == f"The classifier {theirs.arn} was not found."
        assert absent["Message"] == f"The classifier {missing} was not found."
    assert ResourcePolicy.objects.get().version == theirs
    assert api(owner).describe_resource_policy(ResourceArn=theirs.arn)["ResourcePolicy"] == (
        policy_for(theirs.arn, account_id(outsider))
    )


def _create_classifier(client, user, store, **extra):
    uri = store(user, "train/ok.csv", BAD_INPUTS / "classifier-ok-3-labels.csv")
    return client.create_document_classifier(
        DocumentClassifierName="intents",
        VersionName="v1",
        DataAccessRoleArn=f"arn:aws:iam::{account_id(user)}:role/Comprehend",
        InputDataConfig={"S3Uri": uri},
        LanguageCode="en",
        **extra,
    )["DocumentClassifierArn"]


def _create_recognizer(client, user, store, **extra):
    docs = store(user, "ner/docs.txt", b"Peter Blackburn visited BRUSSELS\n")
    names = store(user, "ner/list.csv", b"Text,Type\nPeter Blackburn,PERSON\n")
    return client.create_entity_recognizer(
        RecognizerName="people",
        VersionName="v1",
        DataAccessRoleArn=f"arn:aws:iam::{account_id(user)}:role/Comprehend",
        InputDataConfig={
            "EntityTypes": [{"Type": "PERSON"}],
            "Documents": {"S3Uri": docs},
            "EntityList": {"S3Uri": names},
        },
        LanguageCode="en",
        **extra,
    )["EntityRecognizerArn"]


@pytest.mark.parametrize("create", [_create_classifier, _create_recognizer])
def test_model_policy_on_create_attaches_it(api, owner, outsider, store, create):
    client = api(owner)
    account = account_id(owner)
    kind = (
        "document-classifier/intents"
        if create is _create_classifier
        else "entity-recognizer/people"
    )
    arn = f"arn:aws:comprehend:us-east-1:{account}:{kind}/version/v1"
    text = policy_for(arn, account_id(outsider))
    assert create(client, owner, store, ModelPolicy=text) == arn
    described = client.describe_resource_policy(ResourceArn=arn)
    assert described["ResourcePolicy"] == text and len(described["PolicyRevisionId"]) == 32
    event = AuditEvent.objects.get(account=owner.membership.account, operation="PutResourcePolicy")
    assert (event.operation, event.outcome, event.resource_arn) == (
        "PutResourcePolicy",
        "Succeeded",
        arn,
    )


@pytest.mark.parametrize(
    ("policy", "code"),
    [
        (_statement(Action="comprehend:ClassifyDocument"), "InvalidRequestException"),
        (
            _statement(Resource="arn:aws:comprehend:us-east-1:111122223333:*"),
            "InvalidRequestException",
        ),
        ('{"Version": "2012-10-17", "Statement": [], "Sid": "€"}', "ValidationException"),
    ],
    ids=["action", "resource", "euro-sign"],
)
def test_a_bad_model_policy_creates_nothing(api, owner, store, policy, code):
    client = api(owner)
    error = error_of(lambda: _create_classifier(client, owner, store, ModelPolicy=policy))
    assert error["Code"] == code, error
    if code == "ValidationException":
        assert "'modelPolicy'" in error["Message"]
    assert not CustomModel.objects.exists()
    assert not ModelVersion.objects.exists()
    assert not ResourcePolicy.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_deleting_the_version_deletes_its_policy(api, owner):
    version = factories.version(owner, name="news", version_name="v1")
    client = api(owner)
    client.put_resource_policy(
        ResourceArn=version.arn, ResourcePolicy=policy_for(version.arn, "111122223333")
    )
    client.delete_document_classifier(DocumentClassifierArn=version.arn)
    assert not ResourcePolicy.objects.exists()
    # A new version under the same name starts with no policy.
    factories.version(owner, name="news", version_name="v1")
    error = error_of(lambda: client.describe_resource_policy(ResourceArn=version.arn))
    assert error["Code"] == "ResourceNotFoundException"
