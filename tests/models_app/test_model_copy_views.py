"""Console pages for model copy: a version's policy (show, edit, build, delete) and Import version."""

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from models_app.models import ModelKind, ModelStatus, ModelVersion, ResourcePolicy
from models_app.services import resource_policies
from tests import factories
from tests.models_app import test_recognizer_views as recognizer_views
from tests.models_app.pages import field_error, text
from tests.models_app.test_views import form_data, put
from webapp.accounts.services.keys import key_create, key_disable
from webapp.core import policies

pytestmark = pytest.mark.django_db


def urls(version) -> dict:
    name, pk = version.model.name, version.pk
    slug = "classifier" if version.model.kind == ModelKind.CLASSIFIER else "recognizer"
    return {
        "model": reverse(f"models_app:{slug}-detail", args=[name]),
        "version": reverse(f"models_app:{slug}-version-detail", args=[name, pk]),
        "edit": reverse(f"models_app:{slug}-policy-edit", args=[name, pk]),
        "delete": reverse(f"models_app:{slug}-policy-delete", args=[name, pk]),
    }


def sharing(version, account_id: str, sid: str = "") -> str:
    return policies.standard_policy(principals=[account_id], resource_arn=version.arn, sid=sid)


def put_policy(owner, version, text: str, revision_id=None) -> ResourcePolicy:
    return resource_policies.policy_put(
        account=owner.membership.account,
        user=owner,
        resource_arn=version.arn,
        policy_text=text,
        revision_id=revision_id,
    )


def account_id(user) -> str:
    return user.membership.account.account_id


def non_field_errors(body: str) -> str:
    match = re.search(r'data-testid="form-error">(.*?)</div>', body, re.S)
    return match.group(1) if match else ""


# The version page's "Tags and policy" section


def test_it_shows_a_version_without_a_policy_as_not_shared(client, owner):
    version = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    body = text(client.get(urls(version)["version"]))
    assert "Tags and policy" in body
    assert "Not shared: no resource-based policy." in body
    assert f'<code id="version-arn" data-testid="version-arn">{version.arn}</code>' in body
    assert 'data-copy-target="version-arn"' in body and ">Copy ARN</button>" in body
    assert "js/copy.js" in body
    assert f'href="{urls(version)["edit"]}"' in body


def test_it_shows_the_policy_pretty_printed_with_its_revision_and_times(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    compact = json.dumps(json.loads(sharing(version, account_id(outsider), "ShareIt")))
    policy = put_policy(owner, version, compact)
    client.force_login(owner)
    body = text(client.get(urls(version)["version"]))
    shown = re.search(
        r'<pre class="policy-text" data-testid="policy-text"[^>]*>(.*?)</pre>', body, re.S
    )
    assert shown.group(1) == json.dumps(json.loads(compact), indent=2)
    assert f'data-testid="policy-revision">{policy.revision_id}<' in body
    assert policy.created_at.strftime("%Y-%m-%d %H:%M") in body
    assert "Not shared" not in body
    # The delete form sends the revision the page showed, and asks first.
    form = re.search(rf'<form method="post" action="{urls(version)["delete"]}"[^>]*>', body)
    assert "data-confirm=" in form.group(0)
    assert f'name="revision_id" value="{policy.revision_id}"' in body


def test_it_marks_shared_versions_in_the_versions_table_without_a_query_per_row(
    client, owner, outsider
):
    client.force_login(owner)
    shared = factories.version(owner, name="news", version_name="v1")
    factories.version(owner, name="news", version_name="v2")
    put_policy(owner, shared, sharing(shared, account_id(outsider)))
    body = text(client.get(urls(shared)["model"]))
    rows = re.findall(r'<tr data-testid="version-row".*?</tr>', body, re.S)
    assert len(rows) == 2
    marked = [row for row in rows if 'data-testid="shared-badge"' in row]
    assert len(marked) == 1 and f'data-version-id="{shared.pk}"' in marked[0]

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(urls(shared)["model"]).status_code == 200
        return len(queries)

    before = count()
    for name in ("v3", "v4", "v5"):
        more = factories.version(owner, name="news", version_name=name)
        put_policy(owner, more, sharing(more, account_id(outsider)))
    assert count() == before


# Editing


def test_it_saves_a_policy_from_the_editor(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    body = text(client.get(urls(version)["edit"]))
    assert 'name="revision_id" value=""' in body or 'name="revision_id" id' in body
    typed = sharing(version, account_id(outsider), "Builder")
    resp = client.post(urls(version)["edit"], {"policy": typed, "revision_id": "", "save": "1"})
    assert resp.status_code == 302
    assert resp.url == urls(version)["version"] + "#policy-heading"
    policy = ResourcePolicy.objects.get(version=version)
    assert policy.text == typed

    # The editor shows the saved text and carries its revision.
    body = text(client.get(urls(version)["edit"]))
    assert f'name="revision_id" value="{policy.revision_id}"' in body
    assert json.loads(
        re.search(r"<textarea name=\"policy\"[^>]*>(.*?)</textarea>", body, re.S).group(1).strip()
    )


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ('{"Version": "2012-10-17", "Statement": [', "The policy is not valid JSON"),
        ('{"Version": "2008-10-17", "Statement": []}', 'Version must be "2012-10-17"'),
        ("€" + "{}", '"€" at line 1, column 1 cannot be used'),
        ("{" + " " * 20_000 + "}", "The policy is 20,002 characters long; the limit is 20,000."),
        ("   ", "Write the policy, or build one"),
    ],
)
def test_it_shows_the_policys_errors_at_the_editor(client, owner, typed, expected):
    version = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    resp = client.post(urls(version)["edit"], {"policy": typed, "revision_id": "", "save": "1"})
    assert resp.status_code == 200
    body = text(resp)
    assert expected in field_error(body, "policy")
    assert "validation error detected" not in body and "Traceback" not in body
    assert not ResourcePolicy.objects.filter(version=version).exists()


def test_a_statement_the_grammar_refuses_is_named_at_the_field(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    document = json.loads(sharing(version, account_id(outsider), "Share"))
    document["Statement"][0]["Action"] = "comprehend:DetectEntities"
    client.force_login(owner)
    resp = client.post(
        urls(version)["edit"], {"policy": json.dumps(document), "revision_id": "", "save": "1"}
    )
    assert 'Statement "Share"' in field_error(text(resp), "policy")


def test_a_stale_revision_is_refused_and_the_newer_policy_shown(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    first = put_policy(owner, version, sharing(version, account_id(outsider), "First"))
    shown_revision = first.revision_id
    newer = put_policy(owner, version, sharing(version, account_id(outsider), "Newer"))
    client.force_login(owner)
    mine = sharing(version, account_id(outsider), "Mine")
    resp = client.post(
        urls(version)["edit"], {"policy": mine, "revision_id": shown_revision, "save": "1"}
    )
    assert resp.status_code == 200
    body = text(resp)
    assert "Someone saved a newer revision of this policy after you opened it" in (
        non_field_errors(body)
    )
    assert ResourcePolicy.objects.get(version=version).text == newer.text
    assert '"Sid": "Newer"' in re.search(
        r'data-testid="replaced-policy"[^>]*>(.*?)</pre>', body, re.S
    ).group(1)
    # The typed text is kept, and a second save (knowing about the newer one) replaces it.
    assert '"Sid": "Mine"' in re.search(
        r"<textarea name=\"policy\"[^>]*>(.*?)</textarea>", body, re.S
    ).group(1)
    assert f'name="revision_id" value="{newer.revision_id}"' in body
    resp = client.post(
        urls(version)["edit"], {"policy": mine, "revision_id": newer.revision_id, "save": "1"}
    )
    assert resp.status_code == 302
    assert ResourcePolicy.objects.get(version=version).text == mine


def test_an_editor_that_showed_no_policy_does_not_replace_one_saved_meanwhile(
    client, owner, outsider
):
    version = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    client.get(urls(version)["edit"])  # shows "not shared"
    theirs = put_policy(owner, version, sharing(version, account_id(outsider), "Theirs"))
    resp = client.post(
        urls(version)["edit"],
        {"policy": sharing(version, "111122223333"), "revision_id": "", "save": "1"},
    )
    assert "Someone saved a newer revision" in non_field_errors(text(resp))
    assert ResourcePolicy.objects.get(version=version).revision_id == theirs.revision_id


def test_an_edit_of_a_policy_deleted_meanwhile_is_refused(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    gone = put_policy(owner, version, sharing(version, account_id(outsider)))
    resource_policies.policy_delete(
        account=owner.membership.account, user=owner, resource_arn=version.arn
    )
    client.force_login(owner)
    resp = client.post(
        urls(version)["edit"],
        {"policy": gone.text, "revision_id": gone.revision_id, "save": "1"},
    )
    assert "This policy was deleted after you opened it" in non_field_errors(text(resp))
    assert not ResourcePolicy.objects.filter(version=version).exists()


# The builder


def test_the_builder_writes_the_standard_statement_into_the_editor(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    them = account_id(outsider)
    lines = f"{them}\n\n  arn:aws:iam::{them}:user/bob  \n"
    resp = client.post(
        urls(version)["edit"],
        {
            "policy": "",
            "revision_id": "",
            "policy_name": "ShareWithB",
            "principals": lines,
            "build": "1",
        },
    )
    assert resp.status_code == 200
    body = text(resp)
    editor = re.search(r'<textarea name="policy"[^>]*>(.*?)</textarea>', body, re.S).group(1)
    expected = policies.standard_policy(
        principals=[them, f"arn:aws:iam::{them}:user/bob"],
        resource_arn=version.arn,
        sid="ShareWithB",
    )
    assert editor.strip() == expected
    assert "check it, then press Save policy" in body
    assert not ResourcePolicy.objects.filter(version=version).exists()  # nothing saved yet


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"principals": "12345"}, "principals", "neither a 12-digit account id"),
        ({"principals": "arn:aws:iam::111122223333:role/x"}, "principals", "neither"),
        ({"principals": " \n "}, "principals", "Name at least one account id"),
        (
            {"principals": "111122223333", "policy_name": "share with b"},
            "policy_name",
            "Use letters and digits only",
        ),
    ],
)
def test_the_builders_errors_are_shown_at_its_fields(client, owner, fields, field, expected):
    version = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    data = {"policy": "", "revision_id": "", "policy_name": "", "build": "1", **fields}
    body = text(client.post(urls(version)["edit"], data))
    assert expected in field_error(body, field)


# Deleting


def test_it_deletes_the_policy_of_the_revision_shown(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    policy = put_policy(owner, version, sharing(version, account_id(outsider)))
    client.force_login(owner)
    resp = client.post(urls(version)["delete"], {"revision_id": policy.revision_id}, follow=True)
    body = text(resp)
    assert "is no longer shared: its policy was deleted" in body
    assert "Not shared: no resource-based policy." in body
    assert not ResourcePolicy.objects.filter(version=version).exists()


def test_a_delete_from_a_stale_page_is_refused(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    shown = put_policy(owner, version, sharing(version, account_id(outsider)))
    newer = put_policy(owner, version, sharing(version, account_id(outsider), "Newer"))
    client.force_login(owner)
    body = text(
        client.post(urls(version)["delete"], {"revision_id": shown.revision_id}, follow=True)
    )
    assert "The policy was changed after this page was shown, so it was not deleted." in body
    assert ResourcePolicy.objects.get(version=version).revision_id == newer.revision_id


# Create forms


def test_a_classifier_is_created_with_a_policy_and_a_bad_one_creates_nothing(client, owner):
    put(owner, "train.csv")
    client.force_login(owner)
    url = reverse("models_app:classifier-create")
    body = text(client.get(url))
    assert 'name="model_policy"' in body and "Resource-based policy" in body

    bad = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow"}}'
    resp = client.post(url, form_data(model_policy=bad))
    assert resp.status_code == 200
    assert "Principal is required" in field_error(text(resp), "model_policy")
    assert not ModelVersion.objects.exists()

    good = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": ["111122223333"]},
                    "Action": "comprehend:ImportModel",
                    "Resource": "*",
                }
            ],
        }
    )
    resp = client.post(url, form_data(model_policy=good))
    assert resp.status_code == 302
    assert ResourcePolicy.objects.get(version__model__name="news").text == good


def test_a_recognizer_create_form_shows_a_policy_error_at_its_field(client, owner):
    recognizer_views.put_training_data(owner)
    client.force_login(owner)
    url = reverse("models_app:recognizer-create")
    assert 'name="model_policy"' in text(client.get(url))
    resp = client.post(url, recognizer_views.form_data(model_policy="not json"))
    assert resp.status_code == 200
    assert "The policy is not valid JSON" in field_error(text(resp), "model_policy")
    assert not ModelVersion.objects.exists()


# Import version


def import_url(kind: str = "classifier") -> str:
    return reverse(f"models_app:{kind}-import")


def test_the_lists_offer_import_version(client, owner):
    client.force_login(owner)
    for kind in ("classifier", "recognizer"):
        body = text(client.get(reverse(f"models_app:{kind}-list")))
        assert f'href="{import_url(kind)}">Import version</a>' in body


def test_the_import_form_prefills_the_role_and_offers_names_and_enabled_keys(client, owner):
    account = owner.membership.account
    enabled = key_create(account=account, user=owner, description="models")
    disabled = key_create(account=account, user=owner, description="old")
    key_disable(account=account, user=owner, key_id=disabled.key_id)
    factories.version(owner, name="news", version_name="v1")
    factories.version(owner, name="people", version_name="v1", kind=ModelKind.RECOGNIZER)
    client.force_login(owner)
    body = text(client.get(import_url()))
    role = f"arn:aws:iam::{account.account_id}:role/TextwheelDataAccessRole"
    assert f'value="{role}"' in body
    assert 'list="model-names"' in body
    datalist = re.search(r'<datalist id="model-names">(.*?)</datalist>', body, re.S).group(1)
    assert '<option value="news">' in datalist and "people" not in datalist
    select = re.search(r'<select name="model_kms_key_id".*?</select>', body, re.S).group(0)
    assert f'value="{enabled.key_id}"' in select and disabled.key_id not in select
    assert "None: store the copy unencrypted" in select
    assert ">Confirm</button>" in body


def import_data(**overrides) -> dict:
    data = {
        "source_model_arn": "",
        "model_name": "",
        "version_name": "",
        "model_kms_key_id": "",
        "data_access_role_arn": "arn:aws:iam::111122223333:role/Textwheel",
        "tag_key_0": "",
        "tag_value_0": "",
    }
    data.update(overrides)
    return data


def test_the_import_forms_errors_are_shown_at_their_fields(client, owner, outsider):
    source = factories.version(owner, name="news", version_name="v1")
    recognizer = factories.version(owner, name="ner", version_name="v1", kind=ModelKind.RECOGNIZER)
    hidden = factories.version(outsider, name="secret", version_name="v1")
    training = factories.version(owner, name="news", version_name="v9", status=ModelStatus.TRAINING)
    client.force_login(owner)

    def error(field: str, **data) -> str:
        resp = client.post(import_url(), import_data(**data))
        assert resp.status_code == 200
        body = text(resp)
        assert "Traceback" not in body and "validation error detected" not in body
        return field_error(body, field)

    assert "Paste the ARN of a model version" in error("source_model_arn", source_model_arn="x")
    assert "This field is required" in error("source_model_arn")
    assert "entity recognizer version" in error("source_model_arn", source_model_arn=recognizer.arn)
    refused = error("source_model_arn", source_model_arn=hidden.arn)
    assert "cannot import" in refused
    assert refused.replace("secret", "missing") == error(
        "source_model_arn", source_model_arn=hidden.arn.replace("secret", "missing")
    )
    assert error("source_model_arn", source_model_arn=training.arn)
    assert error("version_name", source_model_arn=source.arn, version_name="v1")
    assert error("version_name", source_model_arn=source.arn, version_name="bad name")
    assert error("model_name", source_model_arn=source.arn, model_name="-x")
    unknown = "0b9d1f7e-2f54-4e0a-9e4b-8d7f6c5b4a39"
    assert error("model_kms_key_id", source_model_arn=source.arn, model_kms_key_id=unknown)
    assert ModelVersion.objects.filter(account=owner.membership.account).count() == 3


def test_an_import_leads_to_the_copys_page_which_shows_its_source_and_status(client, owner):
    source = factories.version(owner, name="news", version_name="v1")
    client.force_login(owner)
    resp = client.post(
        import_url(),
        import_data(
            source_model_arn=source.arn,
            model_name="news-copy",
            version_name="c1",
            tag_key_0="team",
            tag_value_0="search",
        ),
    )
    assert resp.status_code == 302
    copy = ModelVersion.objects.get(model__name="news-copy", version_name="c1")
    assert resp.url == urls(copy)["version"]
    assert copy.source_model_arn == source.arn

    def page() -> str:
        return text(client.get(urls(copy)["version"]))

    body = page()
    assert "<dt>Source model</dt>" in body and source.arn in body
    ModelVersion.objects.filter(pk=copy.pk).update(
        status=ModelStatus.TRAINING, progress=0.4, progress_step="Copying the model"
    )
    body = page()
    assert ">Copying</span>" in body and "Copying the model" in body
    assert 'aria-label="Copying progress"' in body
    ModelVersion.objects.filter(pk=copy.pk).update(status=ModelStatus.TRAINED, progress=1)
    body = page()
    assert ">Imported</span>" in body and ">Trained</span>" not in body
    listing = text(client.get(reverse("models_app:classifier-list")))
    assert ">Imported</span>" in listing


# Another account's versions


def test_another_accounts_version_pages_answer_404(client, owner, outsider):
    version = factories.version(owner, name="news", version_name="v1")
    policy = put_policy(owner, version, sharing(version, account_id(outsider)))
    client.force_login(outsider)
    pages = urls(version)
    assert client.get(pages["version"]).status_code == 404
    assert client.get(pages["edit"]).status_code == 404
    data = {"policy": "{}", "revision_id": policy.revision_id, "save": "1"}
    assert client.post(pages["edit"], data).status_code == 404
    assert client.post(pages["delete"], {"revision_id": policy.revision_id}).status_code == 404
    assert ResourcePolicy.objects.get(version=version).revision_id == policy.revision_id
