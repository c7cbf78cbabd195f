import pytest

from webapp.core import arns
from webapp.core.errors import ServiceError
from webapp.core.validation import check_name


def test_it_builds_and_parses_every_resource_type():
    for kind in arns.RESOURCE_TYPES:
        arn = arns.build(kind, "123456789012", "my-thing")
        parsed = arns.parse(arn, field="Arn")
        assert (parsed.resource_type, parsed.account, parsed.name) == (
            kind,
            "123456789012",
            "my-thing",
        )
        assert str(parsed) == arn
    version = arns.build("document-classifier", "123456789012", "news", version="v-2")
    assert (
        version == "arn:aws:comprehend:us-east-1:123456789012:document-classifier/news/version/v-2"
    )
    assert arns.parse(version, field="Arn").version == "v-2"
    dataset = arns.build("flywheel", "123456789012", "fw", dataset="ds1")
    assert arns.parse(dataset, field="Arn").dataset == "ds1"


@pytest.mark.parametrize(
    "bad",
    [
        "arn:aws:comprehend:us-east-1:1234:document-classifier/x",
        "arn:aws:s3:::bucket",
        "arn:aws:comprehend:us-east-1:123456789012:unknown-thing/x",
        "arn:aws:comprehend:us-east-1:123456789012:endpoint/x/version/y",
        "arn:aws:comprehend:us-east-1:123456789012:document-classifier/-bad",
    ],
)
def test_malformed_arns_name_the_field(bad):
    with pytest.raises(ServiceError) as excinfo:
        arns.parse(bad, field="DocumentClassifierArn")
    assert excinfo.value.code == "ValidationException"
    assert "DocumentClassifierArn" in excinfo.value.message


def test_expected_type_is_enforced():
    arn = arns.build("entity-recognizer", "123456789012", "ner")
    with pytest.raises(ServiceError, match="not a document-classifier"):
        arns.parse(arn, field="DocumentClassifierArn", expected="document-classifier")


def test_role_and_principal_arns():
    assert arns.parse_role("arn:aws:iam::123456789012:role/Comprehend-Role")
    for bad in ("arn:aws:iam::123:role/x", "arn:aws:iam::123456789012:user/x", "role"):
        with pytest.raises(ServiceError, match="DataAccessRoleArn"):
            arns.parse_role(bad)
    assert arns.parse_principal("arn:aws:iam::123456789012:root") == ("123456789012", None)
    assert arns.parse_principal("arn:aws:iam::123456789012:user/bob") == ("123456789012", "bob")


def test_names_follow_comprehends_pattern():
    assert check_name("news-v2", field="Name") == "news-v2"
    for bad in ("-x", "x-", "a_b", "a b", "x" * 64):
        with pytest.raises(ServiceError, match="Name"):
            check_name(bad, field="Name")
    with pytest.raises(ServiceError):
        check_name("x" * 41, field="EndpointName", max_length=40)
