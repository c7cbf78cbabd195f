"""Resource-based policies on model versions: what the grammar accepts and refuses, who they let in."""

import json

import pytest

from webapp.core import policies
from webapp.core.errors import ServiceError

OWNER = "111122223333"
B = "444455556666"
C = "123456789012"
VERSION_ARN = f"arn:aws:comprehend:us-west-2:{OWNER}:document-classifier/news/version/v2"
UNNAMED_ARN = f"arn:aws:comprehend:us-west-2:{OWNER}:entity-recognizer/offerings"


def user(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:user/{name}"


def allows(policy, account: str, name: str = "alice", **kwargs) -> bool:
    return policy.allows(account_id=account, principal_arn=user(account, name), **kwargs)


def statement(**members):
    base = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
        "Action": "comprehend:ImportModel",
        "Resource": "*",
    }
    base.update(members)
    return {key: value for key, value in base.items() if value is not None}


def document(*statements, **top):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements), **top})


def refusal(text: str, resource_arn: str = VERSION_ARN) -> ServiceError:
    with pytest.raises(ServiceError) as excinfo:
        policies.parse(text, resource_arn=resource_arn)
    error = excinfo.value
    assert error.code == "InvalidRequestException"
    assert error.field == "ResourcePolicy"
    assert "Traceback" not in error.message and " at 0x" not in error.message
    return error


# The policies Comprehend's own documents print, accepted as written.


def test_it_accepts_the_walkthrough_policy_with_its_service_principal():
    # The blog's put-resource-policy argument, as the shell hands it over (its \" unescaped),
    # with the placeholders filled in: the target account's root, as the walkthrough chooses.
    resource = f"arn:aws:comprehend:us-west-2:{OWNER}:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1"
    text = (
        '{"Version":"2012-10-17",\n'
        '    "Statement":[{"Sid":"ModelCopy",\n'
        '    "Effect":"Allow","Action":["comprehend:ImportModel"],\n'
        f'    "Resource":"{resource}",\n'
        f'    "Principal":{{"AWS":["arn:aws:iam::{B}:root"], "Service": '
        '[ "comprehend.amazonaws.com.rproxy.goskope.com"]}}]}'
    )
    policy = policies.parse(text, resource_arn=resource)
    assert [s.sid for s in policy.statements] == ["ModelCopy"]
    assert allows(policy, B) and allows(policy, B, "bob")
    assert not allows(policy, C)
    assert not allows(policy, OWNER)


def test_it_accepts_the_walkthrough_policy_naming_one_user():
    resource = f"arn:aws:comprehend:us-west-2:{OWNER}:entity-recognizer/AWS-Offerings-Entity-Recognizer-Dev/version/1"
    text = document(
        {
            "Sid": "ModelCopy",
            "Effect": "Allow",
            "Action": ["comprehend:ImportModel"],
            "Resource": resource,
            "Principal": {
                "AWS": [user(B, "importer")],
                "Service": ["comprehend.amazonaws.com.rproxy.goskope.com"],
            },
        }
    )
    policy = policies.parse(text, resource_arn=resource)
    assert allows(policy, B, "importer")
    assert not allows(policy, B, "someone-else")


def test_it_accepts_the_developer_guide_example_policy():
    # "Resource-based policy for a custom model version" (Amazon Comprehend Developer Guide,
    # Resource-based policies for custom models): Resource "*" is the version it is attached to.
    text = """{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "comprehend:ImportModel",
      "Resource": "*",
      "Principal": {
        "AWS": [
                "arn:aws:iam::111122223333:root",
                "arn:aws:iam::444455556666:user/ExampleUser",
                "arn:aws:iam::123456789012:role/ExampleRole"
         ]
      }
    }
  ]
}"""
    policy = policies.parse(text, resource_arn=VERSION_ARN)
    assert allows(policy, OWNER, "anyone")
    assert allows(policy, B, "ExampleUser")
    assert not allows(policy, B, "OtherUser")
    assert not allows(policy, C, "ExampleRole")  # a role matches no caller


def test_it_accepts_the_developer_guide_cli_policy_file():
    # The guide's policyFile.json for put-resource-policy: a user ARN and a bare account id.
    text = """{
"Version":"2012-10-17",
 "Statement":[
    {"Sid":"ResourcePolicyForImportModel",
     "Effect":"Allow",
     "Action":["comprehend:ImportModel"],
     "Resource":"*",
     "Principal":
         {"AWS":
            ["arn:aws:iam::444455556666:user/jane",
             "123456789012"]
         }
   }
 ]
}"""
    policy = policies.parse(text, resource_arn=VERSION_ARN)
    assert allows(policy, B, "jane") and not allows(policy, B, "john")
    assert allows(policy, C, "anyone")


def test_it_accepts_the_cli_reference_example_policy_on_an_unnamed_version():
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"comprehend:ImportModel",'
        '"Resource":"*","Principal":{"AWS":["arn:aws:iam::444455556666:root"]}}]}'
    )
    policy = policies.parse(text, resource_arn=UNNAMED_ARN)
    assert policy.resource_arn == UNNAMED_ARN
    assert allows(policy, B)


# The grammar: what it accepts.


@pytest.mark.parametrize(
    "members",
    [
        {"Principal": "*"},
        {"Principal": {"AWS": "*"}},
        {"Principal": {"AWS": B}},
        {"Principal": {"AWS": [B, f"arn:aws:iam::{C}:root", user(C, "jane")]}},
        {"Principal": {"AWS": f"arn:aws:iam::{C}:role/service-role/Importer"}},
        {"Principal": {"Service": "comprehend.amazonaws.com"}},
        {"Action": ["comprehend:ImportModel"]},
        {"Action": "*"},
        {"Action": "comprehend:*"},
        {"Action": "comprehend:Import*"},
        {"Action": "COMPREHEND:importmodel"},
        {"Action": "comprehend:?mportModel"},
        {"Action": ["comprehend:ImportModel", "comprehend:*"]},
        {"Resource": VERSION_ARN},
        {"Resource": ["*", VERSION_ARN]},
        {"Resource": f"arn:aws:comprehend:*:{OWNER}:document-classifier/news/version/*"},
        {"Resource": "arn:aws:comprehend:us-west-2:?????????333:document-classifier/*"},
        {"Sid": "Share with B"},
        {"Sid": ""},
        {"Condition": {"StringEquals": {"aws:PrincipalAccount": B}}},
        {"Condition": {"StringLike": {"aws:PrincipalArn": [f"arn:aws:iam::{B}:user/*"]}}},
        {"Condition": {"ArnEquals": {"aws:PrincipalArn": user(B, "alice")}}},
        {"Condition": {"ArnLike": {"AWS:PRINCIPALARN": "arn:aws:iam::*:user/a*"}}},
    ],
)
def test_it_accepts_each_form_the_grammar_allows(members):
    policy = policies.parse(document(statement(**members)), resource_arn=VERSION_ARN)
    assert len(policy.statements) == 1


def test_statement_may_be_one_object_and_the_policy_may_have_an_id():
    text = json.dumps({"Version": "2012-10-17", "Id": "shares", "Statement": statement()})
    policy = policies.parse(text, resource_arn=VERSION_ARN)
    assert allows(policy, B)


# The grammar: each refusal names the statement and the member.


@pytest.mark.parametrize(
    "text, expected",
    [
        ("{", "not valid JSON"),
        ('{"Version": "2012-10-17",}', "not valid JSON"),
        ('{"Version": NaN}', "not valid JSON"),
        ("[" * 5000 + "]" * 5000, "not valid JSON"),
        ('{"Version": ' + "9" * 5000 + "}", "not valid JSON"),
        ("[]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        (json.dumps({"Statement": [statement()]}), 'Version must be "2012-10-17"'),
        (json.dumps({"Version": "2008-10-17", "Statement": [statement()]}), "Version"),
        (json.dumps({"Version": "2012-10-17"}), "no Statement"),
        (json.dumps({"Version": "2012-10-17", "Statement": []}), "Statement must be"),
        (json.dumps({"Version": "2012-10-17", "Statement": "Allow"}), "Statement must be"),
        (document(statement(), Extra=1), 'Unknown member "Extra"'),
        (document(statement(), Id=5), "Id must be a string"),
        ('{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}', '"Version"'),
        (document("Allow"), "Statement 1: a statement must be a JSON object"),
    ],
)
def test_it_refuses_a_document_it_cannot_read(text, expected):
    error = refusal(text)
    assert expected in error.message
    assert "JSONDecodeError" not in error.message and "RecursionError" not in error.message


@pytest.mark.parametrize(
    "members, member, detail",
    [
        ({"Effect": None}, "Effect", "is required"),
        ({"Effect": "allow"}, "Effect", '"Allow" or "Deny"'),
        ({"Effect": ["Allow"]}, "Effect", '"Allow" or "Deny"'),
        ({"Principal": None}, "Principal", "is required"),
        ({"Principal": "123456789012"}, "Principal", '"*" or an object'),
        ({"Principal": {}}, "Principal", '"*" or an object'),
        (
            {"Principal": {"Federated": "cognito-identity.amazonaws.com"}},
            "Federated",
            "not supported",
        ),
        ({"Principal": {"CanonicalUser": "abc"}}, "CanonicalUser", "not supported"),
        ({"Principal": {"AWS": []}}, "Principal AWS", "non-empty"),
        ({"Principal": {"AWS": "1234"}}, "Principal AWS", '"1234"'),
        (
            {"Principal": {"AWS": "arn:aws:iam::444455556666:group/admins"}},
            "Principal AWS",
            "group",
        ),
        ({"Principal": {"AWS": "arn:aws:iam::444455556666:user/*"}}, "Principal AWS", "user/*"),
        ({"Principal": {"AWS": [B, 444455556666]}}, "Principal AWS", "list of strings"),
        ({"Principal": {"AWS": B + "\n"}}, "Principal AWS", "12-digit account id"),
        ({"Principal": {"AWS": "\u0661" * 12}}, "Principal AWS", "12-digit account id"),
        ({"Principal": {"AWS": user(B, "alice") + "\n"}}, "Principal AWS", "IAM ARN"),
        ({"Principal": {"Service": "not a service"}}, "Principal Service", "not a service"),
        ({"Action": None}, "Action", "is required"),
        ({"Action": []}, "Action", "non-empty"),
        ({"Action": "comprehend:DescribeDocumentClassifier"}, "Action", "ImportModel is the only"),
        ({"Action": ["comprehend:ImportModel", "s3:GetObject"]}, "Action", '"s3:GetObject"'),
        ({"Action": "comprehend:Detect*"}, "Action", "not supported"),
        ({"Resource": None}, "Resource", "is required"),
        ({"Resource": ""}, "Resource", "non-empty"),
        (
            {
                "Resource": f"arn:aws:comprehend:us-west-2:{OWNER}:document-classifier/news/version/v1"
            },
            "Resource",
            "does not match this model version",
        ),
        (
            {"Resource": f"arn:aws:comprehend:us-west-2:{OWNER}:document-classifier/news"},
            "Resource",
            "does not match",
        ),
        ({"Resource": ["*", "arn:aws:s3:::bucket/*"]}, "Resource", "arn:aws:s3:::bucket/*"),
        ({"Sid": 7}, "Sid", "must be a string"),
        ({"Condition": {}}, "Condition", "non-empty object"),
        ({"Condition": "yes"}, "Condition", "non-empty object"),
        (
            {"Condition": {"StringNotEquals": {"aws:PrincipalAccount": B}}},
            "StringNotEquals",
            "not supported",
        ),
        (
            {"Condition": {"StringEqualsIfExists": {"aws:PrincipalAccount": B}}},
            "StringEqualsIfExists",
            "not supported",
        ),
        (
            {"Condition": {"ForAnyValue:StringLike": {"aws:PrincipalArn": "*"}}},
            "ForAnyValue:StringLike",
            "not supported",
        ),
        (
            {"Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
            "IpAddress",
            "not supported",
        ),
        (
            {"Condition": {"StringEquals": {"aws:SourceAccount": B}}},
            "aws:SourceAccount",
            "not supported",
        ),
        ({"Condition": {"StringEquals": {}}}, "Condition StringEquals", "non-empty object"),
        (
            {"Condition": {"StringEquals": {"aws:PrincipalAccount": []}}},
            "aws:PrincipalAccount",
            "non-empty",
        ),
        (
            {"Condition": {"StringEquals": {"aws:PrincipalAccount": 444455556666}}},
            "aws:PrincipalAccount",
            "string",
        ),
        (
            {"Condition": {"ArnLike": {"aws:PrincipalAccount": B}}},
            "aws:PrincipalAccount",
            "not an ARN",
        ),
        (
            {"Condition": {"StringEquals": {"aws:PrincipalAccount": B, "aws:principalaccount": C}}},
            "aws:PrincipalAccount",
            "more than once",
        ),
        ({"NotPrincipal": {"AWS": B}}, "NotPrincipal", "not supported"),
        ({"NotAction": "comprehend:Detect*"}, "NotAction", "not supported"),
        ({"NotResource": "arn:aws:s3:::x"}, "NotResource", "not supported"),
        ({"Principals": "*"}, '"Principals"', "unknown member"),
    ],
)
def test_it_refuses_each_statement_rule_naming_the_statement_and_member(members, member, detail):
    text = document(statement(Sid="First"), statement(**members))
    error = refusal(text)
    assert error.message.startswith("Statement 2"), error.message
    assert member in error.message and detail in error.message, error.message


def test_a_refusal_names_the_statement_by_its_sid():
    error = refusal(document(statement(Sid="ShareWithB", Effect="Permit")))
    assert error.message.startswith('Statement "ShareWithB": Effect')


def test_a_repeated_member_in_a_statement_is_refused_not_overwritten():
    text = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Effect":"Allow",'
        '"Principal":"*","Action":"*","Resource":"*"}]}'
    )
    error = refusal(text)
    assert error.message.startswith("Statement 1") and '"Effect"' in error.message


def test_repeated_sids_are_refused():
    error = refusal(document(statement(Sid="Same"), statement(Sid="Same")))
    assert 'Statement "Same"' in error.message and "unique" in error.message


def test_a_long_value_is_shortened_in_the_message():
    error = refusal(document(statement(Action="x" * 5000)))
    assert len(error.message) < 400


def test_model_policy_refusals_name_their_own_field():
    with pytest.raises(ServiceError) as excinfo:
        policies.parse("{", resource_arn=VERSION_ARN, field="ModelPolicy")
    assert excinfo.value.field == "ModelPolicy"


# Evaluation.


def test_no_matching_statement_allows_nothing():
    policy = policies.parse(
        document(statement(Principal={"AWS": user(B, "alice")})), resource_arn=VERSION_ARN
    )
    assert not allows(policy, C, "alice")
    assert not allows(policy, OWNER, "alice")


def test_an_account_id_or_root_lets_in_every_user_of_that_account_only():
    for principal in (B, f"arn:aws:iam::{B}:root"):
        policy = policies.parse(
            document(statement(Principal={"AWS": principal})), resource_arn=VERSION_ARN
        )
        assert allows(policy, B, "alice") and allows(policy, B, "bob")
        assert not allows(policy, C, "alice")


def test_a_user_principal_lets_in_that_user_only():
    policy = policies.parse(
        document(statement(Principal={"AWS": user(B, "alice")})), resource_arn=VERSION_ARN
    )
    assert allows(policy, B, "alice")
    assert not allows(policy, B, "bob")
    assert not allows(policy, B, "Alice")
    # The same user name in another account is another user.
    assert not allows(policy, C, "alice")


def test_a_star_principal_lets_in_anyone():
    for principal in ("*", {"AWS": "*"}):
        policy = policies.parse(document(statement(Principal=principal)), resource_arn=VERSION_ARN)
        assert allows(policy, C, "anyone")


def test_a_role_principal_matches_no_caller():
    policy = policies.parse(
        document(statement(Principal={"AWS": f"arn:aws:iam::{B}:role/alice"})),
        resource_arn=VERSION_ARN,
    )
    assert not allows(policy, B, "alice")


def test_a_service_principal_alone_lets_no_caller_in():
    policy = policies.parse(
        document(statement(Principal={"Service": "comprehend.amazonaws.com"})),
        resource_arn=VERSION_ARN,
    )
    assert not allows(policy, B)


def test_a_matching_deny_wins_over_an_allow():
    policy = policies.parse(
        document(
            statement(Sid="EveryoneInB", Principal={"AWS": B}),
            statement(Sid="NotBob", Effect="Deny", Principal={"AWS": user(B, "bob")}),
        ),
        resource_arn=VERSION_ARN,
    )
    assert allows(policy, B, "alice")
    assert not allows(policy, B, "bob")


def test_a_deny_alone_allows_nothing():
    policy = policies.parse(
        document(statement(Effect="Deny", Principal="*")), resource_arn=VERSION_ARN
    )
    assert not allows(policy, B)


def test_wildcard_actions_cover_import_and_only_the_named_action_is_checked():
    policy = policies.parse(
        document(statement(Action="comprehend:Import*")), resource_arn=VERSION_ARN
    )
    assert allows(policy, B)
    assert allows(policy, B, action="comprehend:importmodel")
    assert not allows(policy, B, action="comprehend:DescribeResourcePolicy")
    exact = policies.parse(document(statement()), resource_arn=VERSION_ARN)
    assert not allows(exact, B, action="comprehend:DeleteResourcePolicy")


def test_a_condition_on_the_principal_account_must_hold():
    policy = policies.parse(
        document(
            statement(
                Principal="*",
                Condition={"StringEquals": {"aws:PrincipalAccount": [B, "999999999999"]}},
            )
        ),
        resource_arn=VERSION_ARN,
    )
    assert allows(policy, B)
    assert not allows(policy, C)


def test_every_operator_must_hold_and_any_value_of_a_key_may():
    policy = policies.parse(
        document(
            statement(
                Principal="*",
                Condition={
                    "StringEquals": {"aws:PrincipalAccount": B},
                    "StringLike": {"aws:principalarn": [f"arn:aws:iam::{B}:user/a*", "*:user/z?"]},
                },
            )
        ),
        resource_arn=VERSION_ARN,
    )
    assert allows(policy, B, "alice")
    assert allows(policy, B, "zo")
    assert not allows(policy, B, "bob")  # the account holds, the ARN does not
    assert not allows(policy, C, "alice")  # the ARN pattern for C fails, and so does the account
    assert not allows(policy, C, "zo")  # the ARN holds, the account does not


def test_arn_conditions_compare_each_part_of_the_arn():
    policy = policies.parse(
        document(
            statement(
                Principal="*", Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/a*"}}
            )
        ),
        resource_arn=VERSION_ARN,
    )
    assert allows(policy, B, "alice") and allows(policy, C, "anna")
    assert not allows(policy, B, "bob")
    exact = policies.parse(
        document(
            statement(
                Principal="*", Condition={"ArnEquals": {"aws:PrincipalArn": user(B, "alice")}}
            )
        ),
        resource_arn=VERSION_ARN,
    )
    assert allows(exact, B, "alice") and not allows(exact, B, "alicia")


def test_a_deny_with_a_condition_applies_only_where_it_holds():
    policy = policies.parse(
        document(
            statement(Principal="*"),
            statement(
                Effect="Deny",
                Principal="*",
                Condition={"StringEquals": {"aws:PrincipalAccount": C}},
            ),
        ),
        resource_arn=VERSION_ARN,
    )
    assert allows(policy, B)
    assert not allows(policy, C)


# The text limits Comprehend puts on ResourcePolicy.


def validation(text, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as excinfo:
        policies.check_text(text, **kwargs)
    assert excinfo.value.code == "ValidationException"
    return excinfo.value


def test_it_refuses_20001_characters_and_accepts_20000():
    error = validation(" " * 20_001)
    assert error.field == "ResourcePolicy"
    assert "Value at 'resourcePolicy' failed to satisfy constraint" in error.message
    assert "less than or equal to 20000" in error.message
    policies.check_text(" " * 20_000)
    padded = document(statement())
    with pytest.raises(ServiceError) as excinfo:
        policies.parse(padded + " " * (20_001 - len(padded)), resource_arn=VERSION_ARN)
    assert excinfo.value.code == "ValidationException"


def test_it_refuses_a_euro_sign_anywhere():
    text = json.dumps(
        {"Version": "2012-10-17", "Statement": [statement(Sid="Price€")]}, ensure_ascii=False
    )
    assert "€" in text
    error = validation(text)
    assert "regular expression pattern" in error.message and "U+20AC" in error.message
    with pytest.raises(ServiceError) as excinfo:
        policies.parse(text, resource_arn=VERSION_ARN)
    assert excinfo.value.code == "ValidationException"


@pytest.mark.parametrize("text", ["€a€", "a€", "€€€€{", "{\u0000}", "\u2028"])
def test_it_checks_the_whole_string_not_one_good_character(text):
    validation(text)


def test_it_accepts_tabs_newlines_and_latin_1():
    policies.check_text('\t{\r\n "Sid": "Café ÿ" }\n')


def test_it_refuses_empty_and_non_text_and_names_the_given_field():
    assert "greater than or equal to 1" in validation("").message
    assert "Value null at 'resourcePolicy'" in validation(None).message
    error = validation("€", field="ModelPolicy")
    assert error.field == "ModelPolicy" and "'modelPolicy'" in error.message


def test_an_escaped_character_outside_the_range_is_no_text_problem():
    # The text itself is plain ASCII; what the escape decodes to is the grammar's business.
    text = document(statement(Sid="Caf\u00e9\u20ac"))
    assert "\\u20ac" in text
    assert "Sid must be a string of printable characters" in refusal(text).message
    policy = policies.parse(text.replace("\\u20ac", "\\u00e9"), resource_arn=VERSION_ARN)
    assert policy.statements[0].sid == "Caf\u00e9\u00e9"


# The console builder's statement.


def test_the_standard_policy_shares_with_accounts_and_users():
    text = policies.standard_policy(
        principals=[B, user(C, "jane"), f"arn:aws:iam::{OWNER}:root"],
        resource_arn=VERSION_ARN,
        sid="ShareNews",
    )
    assert text == json.dumps(json.loads(text), indent=2)
    statement_ = json.loads(text)["Statement"][0]
    assert statement_ == {
        "Sid": "ShareNews",
        "Effect": "Allow",
        "Principal": {
            "AWS": [f"arn:aws:iam::{B}:root", user(C, "jane"), f"arn:aws:iam::{OWNER}:root"]
        },
        "Action": "comprehend:ImportModel",
        "Resource": VERSION_ARN,
    }
    policy = policies.parse(text, resource_arn=VERSION_ARN)
    assert allows(policy, B, "anyone") and allows(policy, C, "jane")
    assert not allows(policy, C, "john")


def test_the_standard_policy_without_a_sid_trims_and_drops_repeats():
    text = policies.standard_policy(
        principals=[f" {B} ", "", B, f"arn:aws:iam::{B}:root"], resource_arn=UNNAMED_ARN
    )
    statement_ = json.loads(text)["Statement"][0]
    assert "Sid" not in statement_
    assert statement_["Principal"] == {"AWS": [f"arn:aws:iam::{B}:root"]}
    assert statement_["Resource"] == UNNAMED_ARN


@pytest.mark.parametrize(
    "bad",
    [
        "12345",
        "not-an-account",
        f"arn:aws:iam::{B}:role/Importer",
        "*",
        f"arn:aws:iam::{B}:group/g",
    ],
)
def test_the_standard_policy_refuses_a_bad_entry_by_name(bad):
    with pytest.raises(ServiceError) as excinfo:
        policies.standard_policy(principals=[B, bad], resource_arn=VERSION_ARN)
    assert excinfo.value.code == "InvalidRequestException"
    assert excinfo.value.field == "ResourcePolicy"
    assert f'"{bad}"' in excinfo.value.message


def test_the_standard_policy_needs_someone_to_share_with():
    with pytest.raises(ServiceError) as excinfo:
        policies.standard_policy(principals=[" "], resource_arn=VERSION_ARN)
    assert excinfo.value.code == "InvalidRequestException"
