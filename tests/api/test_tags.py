"""Tags on any resource, and that another account can neither read nor write them."""

import pytest

from tests import factories


def test_it_tags_untags_and_lists(api, owner):
    arn = factories.version(owner, name="news", version_name="v1").arn
    client = api(owner)
    client.tag_resource(
        ResourceArn=arn,
        Tags=[{"Key": "team", "Value": "support"}, {"Key": "stage", "Value": "dev"}],
    )
    tags = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("stage", "dev"), ("team", "support")]
    client.untag_resource(ResourceArn=arn, TagKeys=["stage"])
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "support"}
    ]


def test_it_refuses_bad_tags(api, owner):
    arn = factories.version(owner).arn
    client = api(owner)
    with pytest.raises(client.exceptions.ClientError) as excinfo:
        client.tag_resource(ResourceArn=arn, Tags=[{"Key": "aws:reserved", "Value": "x"}])
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"


def test_more_than_fifty_tags_are_too_many(api, owner):
    arn = factories.version(owner).arn
    client = api(owner)

    def tags(prefix, n):
        return [{"Key": f"{prefix}{i}", "Value": "v"} for i in range(n)]

    with pytest.raises(client.exceptions.TooManyTagsException):
        client.tag_resource(ResourceArn=arn, Tags=tags("a", 51))
    client.tag_resource(ResourceArn=arn, Tags=tags("a", 30))
    # 30 + 21 > 50: refused as a whole, the first 30 stay as they were.
    with pytest.raises(client.exceptions.TooManyTagsException):
        client.tag_resource(ResourceArn=arn, Tags=tags("b", 21))
    listed = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert sorted(t["Key"] for t in listed) == sorted(f"a{i}" for i in range(30))
    with pytest.raises(client.exceptions.TooManyTagKeysException):
        client.untag_resource(ResourceArn=arn, TagKeys=[f"a{i}" for i in range(51)])
    with pytest.raises(client.exceptions.TooManyTagsException):
        client.create_document_classifier(
            DocumentClassifierName="tagged",
            DataAccessRoleArn=f"arn:aws:iam::{owner.membership.account.account_id}:role/x",
            InputDataConfig={"S3Uri": "s3://data/train.csv"},
            LanguageCode="en",
            Tags=tags("c", 51),
        )


def test_another_account_gets_not_found(api, owner, outsider):
    arn = factories.version(owner, name="private").arn
    api(owner).tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    client = api(outsider)
    for call in (
        lambda: client.list_tags_for_resource(ResourceArn=arn),
        lambda: client.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "x"}]),
        lambda: client.untag_resource(ResourceArn=arn, TagKeys=["k"]),
    ):
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            call()
    assert api(owner).list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "k", "Value": "v"}
    ]
