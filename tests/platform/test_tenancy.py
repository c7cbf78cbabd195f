"""A user of account A sees nothing of account B, through pages or the API."""

from django.urls import reverse

from models_app.models import ModelKind
from tests import factories


def test_list_pages_show_only_the_users_account(client, owner, member, outsider):
    factories.version(owner, name="owners-classifier")
    factories.version(owner, name="owners-recognizer", kind=ModelKind.RECOGNIZER)
    client.force_login(outsider)
    for url in (
        reverse("models_app:classifier-list"),
        reverse("models_app:recognizer-list"),
        reverse("home"),
    ):
        body = client.get(url).content.decode()
        assert "owners-" not in body
    client.force_login(member)  # same account: sees it
    assert "owners-classifier" in client.get(reverse("models_app:classifier-list")).content.decode()


def test_the_api_lists_only_the_callers_account(api, owner, outsider):
    factories.version(owner, name="owners-classifier")
    factories.version(owner, name="owners-recognizer", kind=ModelKind.RECOGNIZER)
    client = api(outsider)
    assert client.list_document_classifiers()["DocumentClassifierPropertiesList"] == []
    assert client.list_entity_recognizers()["EntityRecognizerPropertiesList"] == []
    assert (
        client.list_document_classifiers(Filter={"DocumentClassifierName": "owners-classifier"})[
            "DocumentClassifierPropertiesList"
        ]
        == []
    )


def test_pages_need_a_signed_in_user(client, db):
    for url in (
        reverse("home"),
        reverse("models_app:classifier-list"),
        reverse("accounts:credentials"),
    ):
        resp = client.get(url)
        assert resp.status_code == 302 and reverse("accounts:login") in resp["Location"]
