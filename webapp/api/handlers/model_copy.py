"""Model copy: the resource-based policies that share a model version with other accounts."""

from models_app.services import resource_policies


def put_resource_policy(account, user, body):
    policy = resource_policies.policy_put(
        account=account,
        user=user,
        resource_arn=body["ResourceArn"],
        policy_text=body["ResourcePolicy"],
        revision_id=body.get("PolicyRevisionId"),
    )
    return {"PolicyRevisionId": policy.revision_id}


def describe_resource_policy(account, user, body):
    policy = resource_policies.policy_describe(account=account, resource_arn=body["ResourceArn"])
    return {
        "ResourcePolicy": policy.text,
        "CreationTime": policy.created_at,
        "LastModifiedTime": policy.updated_at,
        "PolicyRevisionId": policy.revision_id,
    }


def delete_resource_policy(account, user, body):
    resource_policies.policy_delete(
        account=account,
        user=user,
        resource_arn=body["ResourceArn"],
        revision_id=body.get("PolicyRevisionId"),
    )
    return {}
