"""Model copy: the resource-based policies that share a model version with other accounts."""

from models_app.services import model_copy, resource_policies


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


def import_model(account, user, body):
    version = model_copy.version_import(
        account=account,
        user=user,
        source_model_arn=body["SourceModelArn"],
        model_name=body.get("ModelName"),
        version_name=body.get("VersionName"),
        model_kms_key_id=body.get("ModelKmsKeyId"),
        data_access_role_arn=body.get("DataAccessRoleArn"),
        tags=body.get("Tags"),
    )
    return {"ModelArn": version.arn}
