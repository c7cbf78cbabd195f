"""TagResource, UntagResource, ListTagsForResource for every resource type."""

from webapp.accounts.services import tags


def tag_resource(account, user, body):
    tags.tag_resource(account=account, resource_arn=body["ResourceArn"], tags=body["Tags"])
    return {}


def untag_resource(account, user, body):
    tags.untag_resource(account=account, resource_arn=body["ResourceArn"], tag_keys=body["TagKeys"])
    return {}


def list_tags_for_resource(account, user, body):
    arn = body["ResourceArn"]
    return {"ResourceArn": arn, "Tags": tags.tags_list(account=account, resource_arn=arn)}
