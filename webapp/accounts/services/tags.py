"""Tags on any resource, stored in one table keyed by ARN."""

from django.db import transaction

from webapp.accounts.models import Account, Tag
from webapp.core.errors import too_many_tag_keys, too_many_tags, validation_error
from webapp.core.resources import resolve_any
from webapp.core.validation import TAGS_MAX, check_tags


def tags_set(*, account: Account, resource_arn: str, tags: list[tuple[str, str]]) -> None:
    """Add or overwrite tags on a resource of this account (the resource must exist)."""
    with transaction.atomic():
        for key, value in tags:
            Tag.objects.update_or_create(
                account=account, resource_arn=resource_arn, key=key, defaults={"value": value}
            )
        if Tag.objects.filter(resource_arn=resource_arn).count() > TAGS_MAX:
            raise too_many_tags(f"A resource can have at most {TAGS_MAX} tags.")


def tag_resource(*, account: Account, resource_arn: str, tags) -> None:
    """TagResource: validate, resolve the ARN within the account, then set the tags."""
    pairs = check_tags(tags)
    resolve_any(account, resource_arn)
    tags_set(account=account, resource_arn=resource_arn, tags=pairs)


def untag_resource(*, account: Account, resource_arn: str, tag_keys) -> None:
    """UntagResource: remove the named keys (missing keys are ignored, as AWS does)."""
    if not isinstance(tag_keys, list):
        raise validation_error("TagKeys must be a list of tag keys.")
    if len(tag_keys) > TAGS_MAX:
        raise too_many_tag_keys(
            f"TagKeys has {len(tag_keys)} keys; at most {TAGS_MAX} are allowed."
        )
    resolve_any(account, resource_arn)
    Tag.objects.filter(account=account, resource_arn=resource_arn, key__in=tag_keys).delete()


def tags_list(*, account: Account, resource_arn: str) -> list[dict]:
    """ListTagsForResource for a resource of this account."""
    resolve_any(account, resource_arn)
    return tags_of(account, resource_arn)


def tags_of(account: Account, resource_arn: str) -> list[dict]:
    return [
        {"Key": t.key, "Value": t.value}
        for t in Tag.objects.filter(account=account, resource_arn=resource_arn)
    ]


def tags_delete_all(*, account: Account, resource_arn: str) -> None:
    Tag.objects.filter(account=account, resource_arn=resource_arn).delete()
