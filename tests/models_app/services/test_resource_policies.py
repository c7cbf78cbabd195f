"""Resource policies: who the access gate lets in to import another account's version, and the
revision rules of put and delete."""

import json
import threading

import pytest
from django.db import connection, connections, transaction

from models_app import selectors
from models_app.models import ModelKind, ResourcePolicy
from models_app.services import resource_policies
from tests import factories
from tests.conftest import PASSWORD
from webapp.accounts.models import AuditEvent
from webapp.accounts.services.accounts import member_add
from webapp.core import policies
from webapp.core.errors import ServiceError


@pytest.fixture
def colleague(outsider):
    """A second user of the importing account (B)."""
    return member_add(
        account=outsider.membership.account, actor=outsider, username="colleague", password=PASSWORD
    )


@pytest.fixture
def shared(owner):
    """A version of account A that policies below share (or not)."""
    return factories.version(owner, name="people", version_name="v1", kind=ModelKind.RECOGNIZER)


def b_id(outsider) -> str:
    return outsider.membership.account.account_id


def allow(resource: str, *principals: str, deny: tuple[str, ...] = ()) -> str:
    statements = [
        {
            "Sid": "ModelCopy",
            "Effect": "Allow",
            "Action": ["comprehend:ImportModel"],
            "Resource": resource,
            "Principal": {"AWS": list(principals)},
        }
    ]
    if deny:
        statements.append(
            {
                "Effect": "Deny",
                "Action": "comprehend:*",
                "Resource": "*",
                "Principal": {"AWS": list(deny)},
            }
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def put(owner, version, text, revision=None):
    return resource_policies.policy_put(
        account=owner.membership.account,
        user=owner,
        resource_arn=version.arn,
        policy_text=text,
        revision_id=revision,
    )


def imports(user, version, action=policies.IMPORT_ACTION) -> bool:
    """Whether `user` reaches `version` through the gate for `action`; a refusal must answer
    exactly as a missing version does."""
    try:
        found = selectors.version_for(
            user.membership.account, version.arn, principal=user, action=action
        )
    except ServiceError as exc:
        assert exc.code == "ResourceNotFoundException"
        assert exc.message == f"The entity recognizer {version.arn} was not found."
        return False
    assert found == version
    return True


def test_without_a_policy_another_account_cannot_import(shared, outsider):
    assert not imports(outsider, shared)


@pytest.mark.parametrize(
    "principal",
    [
        lambda b: f"arn:aws:iam::{b}:root",
        lambda b: f"arn:aws:iam::{b}:user/outsider",
        lambda b: b,
    ],
    ids=["root", "user", "account-id"],
)
def test_a_policy_lets_the_named_account_import(owner, shared, outsider, principal):
    put(owner, shared, allow(shared.arn, principal(b_id(outsider))))
    assert imports(outsider, shared)


def test_a_user_arn_lets_in_that_user_only(owner, shared, outsider, colleague):
    put(owner, shared, allow(shared.arn, f"arn:aws:iam::{b_id(outsider)}:user/outsider"))
    assert imports(outsider, shared)
    assert not imports(colleague, shared)


def test_a_deny_wins_over_an_allow(owner, shared, outsider, colleague):
    b = b_id(outsider)
    put(owner, shared, allow("*", b, deny=(f"arn:aws:iam::{b}:user/colleague",)))
    assert imports(outsider, shared)
    assert not imports(colleague, shared)


def test_a_policy_on_another_version_shares_only_that_one(owner, shared, outsider):
    other = factories.version(owner, name="people", version_name="v2", kind=ModelKind.RECOGNIZER)
    put(owner, other, allow(other.arn, b_id(outsider)))
    assert imports(outsider, other)
    assert not imports(outsider, shared)


def test_after_delete_the_version_is_no_longer_shared(owner, shared, outsider):
    policy = put(owner, shared, allow(shared.arn, b_id(outsider)))
    assert imports(outsider, shared)
    resource_policies.policy_delete(
        account=owner.membership.account,
        user=owner,
        resource_arn=shared.arn,
        revision_id=policy.revision_id,
    )
    assert not imports(outsider, shared)


@pytest.mark.parametrize("action", ["use", "describe", "stop", "delete", "tag"])
def test_no_policy_lets_another_account_do_anything_but_import(owner, shared, outsider, action):
    put(owner, shared, allow("*", "*"))
    assert imports(outsider, shared)
    assert not imports(outsider, shared, action=action)


def test_a_stored_policy_that_no_longer_parses_shares_nothing(shared, outsider):
    # As if the grammar had been tightened since it was written: "Principal": "*" with a
    # NotResource member, which the grammar refuses.
    text = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "comprehend:ImportModel",
                "Resource": "*",
                "NotResource": "x",
            },
        }
    )
    ResourcePolicy.objects.create(version=shared, text=text, revision_id="ab")
    assert not imports(outsider, shared)


def test_the_unnamed_version_is_shared_by_the_model_arn(owner, outsider):
    unnamed = factories.version(owner, name="plain", kind=ModelKind.RECOGNIZER)
    assert "/version/" not in unnamed.arn
    put(owner, unnamed, allow(unnamed.arn, b_id(outsider)))
    assert imports(outsider, unnamed)


def test_a_put_replaces_and_every_put_gets_a_new_revision(owner, shared):
    first = put(owner, shared, allow("*", "111122223333"))
    second = put(owner, shared, allow("*", "444455556666"))
    third = put(owner, shared, allow("*", "444455556666"), revision=second.revision_id)
    revisions = {first.revision_id, second.revision_id, third.revision_id}
    assert len(revisions) == 3 and all(len(r) == 32 for r in revisions)
    assert ResourcePolicy.objects.count() == 1
    described = resource_policies.policy_describe(
        account=owner.membership.account, resource_arn=shared.arn
    )
    assert described.revision_id == third.revision_id and "444455556666" in described.text
    assert described.created_at == first.created_at <= described.updated_at


def _refusal(call):
    with pytest.raises(ServiceError) as caught:
        call()
    return caught.value


def test_a_stale_or_unexpected_revision_is_refused_and_logged(owner, shared):
    account = owner.membership.account
    text = allow("*", "111122223333")
    error = _refusal(lambda: put(owner, shared, text, revision="abc123"))
    assert (error.code, error.field) == ("InvalidRequestException", "PolicyRevisionId")
    assert "has no resource policy" in error.message
    first = put(owner, shared, text)
    put(owner, shared, text)
    error = _refusal(lambda: put(owner, shared, text, revision=first.revision_id))
    assert error.code == "InvalidRequestException" and first.revision_id in error.message
    error = _refusal(
        lambda: resource_policies.policy_delete(
            account=account, user=owner, resource_arn=shared.arn, revision_id=first.revision_id
        )
    )
    assert error.code == "InvalidRequestException"
    log = list(AuditEvent.objects.filter(account=account).order_by("id"))
    assert [(e.operation, e.outcome) for e in log] == [
        ("PutResourcePolicy", "Refused"),
        ("PutResourcePolicy", "Succeeded"),
        ("PutResourcePolicy", "Succeeded"),
        ("PutResourcePolicy", "Refused"),
        ("DeleteResourcePolicy", "Refused"),
    ]
    assert all(e.resource_arn == shared.arn and e.actor_user == "owner" for e in log)
    assert log[1].revision == first.revision_id and log[3].revision == first.revision_id
    assert log[3].detail


def test_describe_and_delete_without_a_policy_answer_not_found(owner, shared):
    account = owner.membership.account
    for call in (
        lambda: resource_policies.policy_describe(account=account, resource_arn=shared.arn),
        lambda: resource_policies.policy_delete(
            account=account, user=owner, resource_arn=shared.arn
        ),
    ):
        assert _refusal(call).code == "ResourceNotFoundException"


def test_another_account_cannot_put_describe_or_delete(owner, shared, outsider):
    put(owner, shared, allow("*", "*"))
    mine = outsider.membership.account
    calls = [
        lambda: resource_policies.policy_put(
            account=mine, user=outsider, resource_arn=shared.arn, policy_text=allow("*", "*")
        ),
        lambda: resource_policies.policy_describe(account=mine, resource_arn=shared.arn),
        lambda: resource_policies.policy_delete(
            account=mine, user=outsider, resource_arn=shared.arn
        ),
    ]
    for call in calls:
        error = _refusal(call)
        assert error.code == "ResourceNotFoundException"
        assert error.message == f"The entity recognizer {shared.arn} was not found."
    assert ResourcePolicy.objects.get().text == allow("*", "*")


def test_deleting_the_version_deletes_its_policy(owner, shared):
    put(owner, shared, allow("*", "111122223333"))
    shared.delete()
    assert not ResourcePolicy.objects.exists()


def _waiting_on_a_lock(pid: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
        row = cursor.fetchone()
    return bool(row) and row[0] == "Lock"


def test_two_puts_with_the_same_revision_cannot_both_win(owner, shared, transactional_db):
    account = owner.membership.account
    current = put(owner, shared, allow("*", "111122223333"))
    first_done, results, pids = threading.Event(), {}, {}

    def second_put():
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids["second"] = cursor.fetchone()[0]
            results["second"] = put(
                owner, shared, allow("*", "444455556666"), revision=current.revision_id
            )
        except ServiceError as exc:
            results["second"] = exc
        finally:
            connections["default"].close()

    # The first put holds its transaction open until the second one waits on its lock.
    with transaction.atomic():
        results["first"] = put(
            owner, shared, allow("*", "777788889999"), revision=current.revision_id
        )
        thread = threading.Thread(target=second_put)
        thread.start()
        while "second" not in pids or not _waiting_on_a_lock(pids["second"]):
            if not thread.is_alive():
                break
            first_done.wait(0.05)
    thread.join()
    assert isinstance(results["first"], ResourcePolicy)
    assert isinstance(results["second"], ServiceError)
    assert results["second"].code == "InvalidRequestException"
    final = resource_policies.policy_describe(account=account, resource_arn=shared.arn)
    assert final.revision_id == results["first"].revision_id and "777788889999" in final.text
