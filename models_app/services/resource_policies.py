"""Resource-based policies on model versions: the one policy that shares a version for import."""

import uuid

from django.db import transaction

from models_app import selectors
from models_app.models import ModelVersion, ResourcePolicy
from webapp.accounts.services.audit import audit_record
from webapp.core import policies
from webapp.core.errors import invalid_request, not_found

FIELD = "ResourceArn"


def _version(account, user, resource_arn: str) -> ModelVersion:
    # Only the owner account reaches its versions here: the gate's default action ("use") is one
    # no policy ever shares.
    return selectors.version_for(account, resource_arn, field=FIELD, principal=user)


def _locked_policy(version: ModelVersion, resource_arn: str) -> ResourcePolicy | None:
    """The version's policy, read after locking the version row.

    The version row is locked rather than the policy row because there may be no policy row
    yet: two puts that both expect "no policy" (or the same revision) then run one after the
    other, and the second sees the first's revision and is refused.
    """
    locked = (
        ModelVersion.objects.select_for_update(no_key=True)
        .filter(pk=version.pk)
        .values_list("pk", flat=True)
    )
    if not locked:  # deleted since the gate read it
        raise not_found(f"The model version {resource_arn} was not found.", field=FIELD)
    return ResourcePolicy.objects.filter(version_id=version.pk).first()


def _audit(*, account, user, operation: str, version, revision: str, outcome: str, detail=""):
    audit_record(
        account=version.account,
        actor_account_id=account.account_id,
        actor_user=getattr(user, "username", "") or "",
        operation=operation,
        resource_arn=version.arn,
        revision=revision,
        outcome=outcome,
        detail=detail,
    )


def _revision_refusal(policy: ResourcePolicy | None, revision_id: str, arn: str) -> str | None:
    """Why a given PolicyRevisionId is refused, or None when it is the current revision."""
    if policy is None:
        return (
            f"The model version {arn} has no resource policy; send no PolicyRevisionId to "
            "create one."
        )
    if revision_id != policy.revision_id:
        return (
            f"The PolicyRevisionId {revision_id} is not the current revision of the resource "
            f"policy of {arn}; describe the policy to read its current revision."
        )
    return None


def policy_put(
    *,
    account,
    user,
    resource_arn: str,
    policy_text: str,
    revision_id: str | None = None,
) -> ResourcePolicy:
    """PutResourcePolicy: attach or replace a version's policy (replace only the revision given,
    when one is given), with a new revision id."""
    policies.check_text(policy_text)
    refusal = None
    with transaction.atomic():
        version = _version(account, user, resource_arn)
        policies.parse(policy_text, resource_arn=version.arn)
        current = _locked_policy(version, resource_arn)
        if revision_id:
            refusal = _revision_refusal(current, revision_id, resource_arn)
        if refusal is None:
            policy = current or ResourcePolicy(version=version)
            policy.text = policy_text
            policy.revision_id = uuid.uuid4().hex
            policy.save()
            _audit(
                account=account,
                user=user,
                operation="PutResourcePolicy",
                version=version,
                revision=policy.revision_id,
                outcome="Succeeded",
            )
            return policy
    # Recorded outside the block above so that the refusal is kept even where no request scope
    # restores rolled-back audit rows (the console's and the API's requests have one).
    _audit(
        account=account,
        user=user,
        operation="PutResourcePolicy",
        version=version,
        revision=revision_id,
        outcome="Refused",
        detail="Stale or unexpected policy revision",
    )
    raise invalid_request(refusal, field="PolicyRevisionId")


def policy_describe(*, account, resource_arn: str) -> ResourcePolicy:
    """DescribeResourcePolicy: the version's policy as it was given."""
    version = _version(account, None, resource_arn)
    policy = ResourcePolicy.objects.filter(version=version).first()
    if policy is None:
        raise not_found(f"The model version {resource_arn} has no resource policy.", field=FIELD)
    return policy


def policy_delete(*, account, user, resource_arn: str, revision_id: str | None = None) -> None:
    """DeleteResourcePolicy: remove a version's policy (only the revision given, when one is)."""
    refusal = None
    with transaction.atomic():
        version = _version(account, user, resource_arn)
        current = _locked_policy(version, resource_arn)
        if current is None:
            raise not_found(
                f"The model version {resource_arn} has no resource policy.", field=FIELD
            )
        if revision_id:
            refusal = _revision_refusal(current, revision_id, resource_arn)
        if refusal is None:
            current.delete()
            _audit(
                account=account,
                user=user,
                operation="DeleteResourcePolicy",
                version=version,
                revision=current.revision_id,
                outcome="Succeeded",
            )
            return
    _audit(
        account=account,
        user=user,
        operation="DeleteResourcePolicy",
        version=version,
        revision=revision_id,
        outcome="Refused",
        detail="Stale policy revision",
    )
    raise invalid_request(refusal, field="PolicyRevisionId")


def policy_attach(
    *, version: ModelVersion, policy_text: str, field: str, user=None
) -> ResourcePolicy:
    """Attach the policy a Create request carries (ModelPolicy) to its new version, in the
    caller's transaction, so that a policy that does not parse leaves nothing created."""
    policies.parse(policy_text, resource_arn=version.arn, field=field)
    # A create retried with its ClientRequestToken gets the version, and the policy, it made.
    policy, created = ResourcePolicy.objects.get_or_create(
        version=version, defaults={"text": policy_text, "revision_id": uuid.uuid4().hex}
    )
    if created:
        audit_record(
            account=version.account,
            actor_account_id=version.account.account_id,
            actor_user=getattr(user, "username", "") or "",
            operation="PutResourcePolicy",
            resource_arn=version.arn,
            revision=policy.revision_id,
            outcome="Succeeded",
            detail=f"{field} on create",
        )
    return policy
