"""The custom entity recognition console: list, create, model and version pages, try it, stop
and delete — the same views as classifiers, over the recognizer kind."""

import html
import io
import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from models_app.models import CustomModel, ModelKind, ModelStatus, ModelVersion
from models_app.services import serving
from models_app.services.recognizers import recognizer_create
from tests import factories
from tests.conftest import BAD_INPUTS, run_queued_jobs
from tests.models_app.pages import field_error, json_block, text
from webapp.accounts.services.tags import tags_of, tags_set
from webapp.core import storage

TYPES = ["LOCATION", "MISC", "ORGANIZATION", "PERSON"]
METRICS = {"Precision": 0.9, "Recall": 0.8, "F1Score": 0.84706}
PER_TYPE = [
    {"type": "LOCATION", "precision": 0.95, "recall": 0.9, "f1": 0.92432, "train_mentions": 120},
    {"type": "MISC", "precision": 0.7, "recall": 0.5, "f1": 0.58333, "train_mentions": 40},
    {"type": "ORGANIZATION", "precision": 0.8, "recall": 0.75, "f1": 0.77419, "train_mentions": 90},
    {"type": "PERSON", "precision": 1.0, "recall": 0.95, "f1": 0.97436, "train_mentions": 150},
]
CONFIG = {
    "DataFormat": "COMPREHEND_CSV",
    "EntityTypes": [{"Type": t} for t in TYPES],
    "Documents": {
        "S3Uri": "s3://data/ner/docs/recognizer-docs.txt",
        "InputFormat": "ONE_DOC_PER_LINE",
    },
    "Annotations": {"S3Uri": "s3://data/ner/ann.csv"},
}
DOCS = (BAD_INPUTS / "recognizer-docs.txt").read_bytes()
ANNOTATIONS = (BAD_INPUTS / "recognizer-annotations-ok.csv").read_bytes()


def put(user, key: str, data: bytes) -> str:
    uri = storage.S3Uri("data", key)
    storage.save_upload(user.membership.account.account_id, uri, io.BytesIO(data))
    return str(uri)


def put_training_data(user) -> None:
    put(user, "ner/docs/recognizer-docs.txt", DOCS)
    put(user, "ner/ann.csv", ANNOTATIONS)


def recognizer(user, *, status=ModelStatus.TRAINED, **fields):
    """A recognizer version row (scored when it is trained), without training anything."""
    if status in (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING):
        fields.setdefault("metrics", METRICS)
        fields.setdefault("per_label_metrics", PER_TYPE)
        fields.setdefault("number_of_labels", 4)
        fields.setdefault("number_of_trained_documents", 360)
        fields.setdefault("number_of_test_documents", 40)
    fields.setdefault("name", "people")
    fields.setdefault("input_data_config", CONFIG)
    return factories.version(user, kind=ModelKind.RECOGNIZER, status=status, **fields)


def form_data(**overrides) -> dict:
    data = {
        "name": "people",
        "version_name": "v1",
        "language_code": "en",
        "entity_types": ["PERSON", "LOCATION", "", "ORGANIZATION", "MISC"],
        "data_format": "COMPREHEND_CSV",
        "training_type": "ANNOTATIONS",
        "input_format": "ONE_DOC_PER_LINE",
        "documents_uri": "s3://data/ner/docs/recognizer-docs.txt",
        "annotations_uri": "s3://data/ner/ann.csv",
        "entity_list_uri": "",
        "attribute_name": "",
        "manifest_uri": "",
        "test_source": "AUTOSPLIT",
        "test_documents_uri": "",
        "test_annotations_uri": "",
        "test_manifest_uri": "",
        "data_access_role_arn": "arn:aws:iam::111122223333:role/Textwheel",
        "tag_key_0": "team",
        "tag_value_0": "support",
    }
    data.update(overrides)
    return data


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="text/plain")


def stored(user, uri: str) -> bytes:
    account_id = user.membership.account.account_id
    with storage.open_read(account_id, storage.parse_uri(uri, field="S3Uri")) as handle:
        return handle.read()


def urls_of(version) -> dict:
    name, pk = version.model.name, version.pk
    return {
        "detail": reverse("models_app:recognizer-detail", args=[name]),
        "versions": reverse("models_app:recognizer-versions", args=[name]),
        "version": reverse("models_app:recognizer-version-detail", args=[name, pk]),
        "status": reverse("models_app:recognizer-version-status", args=[name, pk]),
        "metrics": reverse("models_app:recognizer-version-metrics", args=[name, pk]),
        "new_version": reverse("models_app:recognizer-create") + f"?from={pk}",
        "blank_version": reverse("models_app:recognizer-create") + f"?model={name}",
    }


def post_urls_of(version) -> dict:
    name, pk = version.model.name, version.pk
    return {
        action: reverse(f"models_app:recognizer-version-{action}", args=[name, pk])
        for action in ("try", "stop", "delete")
    }


# The list


def test_it_lists_recognizers_and_filters_them(client, owner, outsider):
    recognizer(owner, name="people", version_name="v1")
    recognizer(owner, name="people", version_name="v2", status=ModelStatus.TRAINING)
    recognizer(owner, name="products", version_name="a", metrics={**METRICS, "F1Score": 0.5})
    recognizer(outsider, name="secret")
    factories.version(owner, name="a-classifier")  # another kind: not listed here
    client.force_login(owner)
    url = reverse("models_app:recognizer-list")

    body = text(client.get(url))
    assert 'data-testid="recognizer-table"' in body and "Recognizer name" in body
    assert ">people</a>" in body and ">products</a>" in body
    assert "secret" not in body and "a-classifier" not in body
    assert "50.00%" in body and "Training" in body  # products' F1, people's latest status

    body = text(client.get(url, {"status": "TRAINING"}))
    assert ">people</a>" in body and ">products</a>" not in body
    body = text(client.get(url, {"name": "PROD"}))
    assert ">products</a>" in body and ">people</a>" not in body
    body = text(client.get(url, {"status": "STOPPED"}))
    assert "No recognizers match these filters" in body


def test_the_empty_list_says_what_to_do(client, outsider):
    client.force_login(outsider)
    body = text(client.get(reverse("models_app:recognizer-list")))
    assert "No recognizers yet." in body
    assert f'href="{reverse("models_app:recognizer-create")}"' in body
    assert "Create recognizer" in body


def test_pages_need_a_signed_in_user(client, owner):
    version = recognizer(owner)
    urls = [reverse("models_app:recognizer-list"), *urls_of(version).values()]
    for url in urls:
        assert client.get(url).status_code == 302, url
    for url in post_urls_of(version).values():
        assert client.post(url).status_code == 302, url


def test_a_model_called_create_is_not_hidden(client, owner):
    version = recognizer(owner, name="create")
    client.force_login(owner)
    assert reverse("models_app:recognizer-create") == "/models/create-recognizer/"
    assert urls_of(version)["detail"] == "/models/recognizers/create/"
    assert "<h1>create</h1>" in text(client.get(urls_of(version)["detail"]))
    assert "<h1>Create recognizer</h1>" in text(client.get("/models/create-recognizer/"))


# Creating


def test_the_form_starts_from_the_defaults(client, owner):
    client.force_login(owner)
    body = text(client.get(reverse("models_app:recognizer-create")))
    role = f"arn:aws:iam::{owner.membership.account.account_id}:role/TextwheelDataAccessRole"
    assert f'value="{role}"' in body
    assert '<option value="en" selected>' in body
    for code in ("es", "fr", "it", "de", "pt"):
        assert f'<option value="{code}">' in body
    assert len(re.findall(r'name="entity_types"', body)) == 25  # 5 shown, the rest behind "more"
    assert "Add more entity types" in body
    assert re.search(r'value="ANNOTATIONS"[^>]*checked', body)
    assert re.search(r'value="ONE_DOC_PER_LINE"[^>]*checked', body)
    assert re.search(r'value="AUTOSPLIT"[^>]*checked', body)
    assert 'for="id_documents_file"' in body and 'name="entity_list_file"' in body
    assert "output_uri" not in body  # recognizers have no output location
    assert "<script>" not in body


def test_it_creates_a_recognizer_from_uris(client, owner):
    put_training_data(owner)
    put(owner, "ner/test-docs.txt", DOCS)
    put(owner, "ner/test-ann.csv", ANNOTATIONS)
    client.force_login(owner)
    data = form_data(
        test_source="GIVEN",
        test_documents_uri="s3://data/ner/test-docs.txt",
        test_annotations_uri="s3://data/ner/test-ann.csv",
        entity_list_uri="s3://data/ignored.csv",  # another training type's field: not used
    )
    resp = client.post(reverse("models_app:recognizer-create"), data)
    assert resp.status_code == 302, text(resp)
    assert resp.url == reverse("models_app:recognizer-detail", args=["people"])
    version = ModelVersion.objects.get(model__name="people")
    assert version.model.kind == ModelKind.RECOGNIZER
    assert (version.version_name, version.status) == ("v1", ModelStatus.SUBMITTED)
    assert version.account == owner.membership.account and version.parent is None
    assert version.input_data_config == {
        "DataFormat": "COMPREHEND_CSV",
        "EntityTypes": [{"Type": t} for t in TYPES],  # the service sorts them
        "Documents": {
            "S3Uri": "s3://data/ner/docs/recognizer-docs.txt",
            "InputFormat": "ONE_DOC_PER_LINE",
            "TestS3Uri": "s3://data/ner/test-docs.txt",
        },
        "Annotations": {
            "S3Uri": "s3://data/ner/ann.csv",
            "TestS3Uri": "s3://data/ner/test-ann.csv",
        },
    }
    assert version.data_access_role_arn == "arn:aws:iam::111122223333:role/Textwheel"
    assert tags_of(version.account, version.arn) == [{"Key": "team", "Value": "support"}]
    assert "Version v1 of people was submitted for training." in text(client.get(resp.url))


def test_it_creates_a_recognizer_from_uploaded_annotations(client, owner):
    client.force_login(owner)
    data = form_data(
        documents_uri="",
        annotations_uri="",
        test_source="GIVEN",
        documents_file=upload("recognizer-docs.txt", DOCS),
        annotations_file=upload("my annotations.csv", ANNOTATIONS),
        test_documents_file=upload("recognizer-docs.txt", DOCS),
        test_annotations_file=upload("test.csv", ANNOTATIONS),
    )
    resp = client.post(reverse("models_app:recognizer-create"), data)
    assert resp.status_code == 302, text(resp)
    config = ModelVersion.objects.get().input_data_config
    documents, annotations = config["Documents"], config["Annotations"]
    # Uploads keep their file names: the annotations' File column refers to them.
    assert re.fullmatch(r"s3://uploads/[0-9a-f]{32}/recognizer-docs\.txt", documents["S3Uri"])
    assert re.fullmatch(r"s3://uploads/[0-9a-f]{32}/my_annotations\.csv", annotations["S3Uri"])
    assert re.fullmatch(r"s3://uploads/[0-9a-f]{32}/recognizer-docs\.txt", documents["TestS3Uri"])
    assert re.fullmatch(r"s3://uploads/[0-9a-f]{32}/test\.csv", annotations["TestS3Uri"])
    assert documents["S3Uri"] != documents["TestS3Uri"]
    assert stored(owner, documents["S3Uri"]) == DOCS
    assert stored(owner, annotations["TestS3Uri"]) == ANNOTATIONS


def test_it_creates_a_recognizer_from_an_uploaded_entity_list(client, owner):
    client.force_login(owner)
    entity_list = b"Text,Type\nPeter Blackburn,PERSON\nBrussels,LOCATION\n"
    data = form_data(
        name="listed",
        training_type="ENTITY_LIST",
        documents_uri="",
        annotations_uri="s3://data/not-used.csv",
        documents_file=upload("docs.txt", DOCS),
        entity_list_file=upload("entity-list.csv", entity_list),
        entity_types=["PERSON", "LOCATION"],
    )
    resp = client.post(reverse("models_app:recognizer-create"), data)
    assert resp.status_code == 302, text(resp)
    config = ModelVersion.objects.get(model__name="listed").input_data_config
    assert set(config) == {"DataFormat", "EntityTypes", "Documents", "EntityList"}
    assert config["EntityTypes"] == [{"Type": "LOCATION"}, {"Type": "PERSON"}]
    assert stored(owner, config["EntityList"]["S3Uri"]) == entity_list
    assert config["Documents"]["InputFormat"] == "ONE_DOC_PER_LINE"


def test_it_creates_from_an_entity_list_uri_and_documents_one_per_file(client, owner):
    put(owner, "files/a.txt", b"Peter Blackburn went to Brussels.")
    put(owner, "files/b.txt", b"Brussels is far.")
    put(owner, "list.csv", b"Text,Type\nBrussels,LOCATION\n")
    client.force_login(owner)
    data = form_data(
        training_type="ENTITY_LIST",
        input_format="ONE_DOC_PER_FILE",
        documents_uri="s3://data/files/",
        entity_list_uri="s3://data/list.csv",
    )
    assert client.post(reverse("models_app:recognizer-create"), data).status_code == 302
    config = ModelVersion.objects.get().input_data_config
    assert config["Documents"] == {"S3Uri": "s3://data/files/", "InputFormat": "ONE_DOC_PER_FILE"}
    assert config["EntityList"] == {"S3Uri": "s3://data/list.csv"}


def test_it_creates_from_an_augmented_manifest(client, owner):
    line = {"source": "Peter went home", "ner": {"annotations": {"entities": []}}}
    put(owner, "train.manifest", json.dumps(line).encode() + b"\n")
    client.force_login(owner)
    data = form_data(
        data_format="AUGMENTED_MANIFEST",
        attribute_name="ner",
        manifest_uri="s3://data/train.manifest",
        test_source="GIVEN",
        test_manifest_file=upload("test.manifest", json.dumps(line).encode()),
    )
    assert client.post(reverse("models_app:recognizer-create"), data).status_code == 302
    config = ModelVersion.objects.get().input_data_config
    train, test = config["AugmentedManifests"]
    assert train == {
        "S3Uri": "s3://data/train.manifest",
        "AttributeNames": ["ner"],
        "Split": "TRAIN",
    }
    assert test["Split"] == "TEST" and test["S3Uri"].startswith("s3://uploads/")
    assert "Documents" not in config


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        (
            {"entity_types": ["PERSON", "person name"]},
            "entity_types",
            "entity type 'person name': entity types must be upper-case words joined by "
            "underscores",
        ),
        (
            {"entity_types": [f"TYPE_{i}" for i in range(26)]},
            "entity_types",
            "found 26 entity types; a recognizer can have at most 25",
        ),
        ({"entity_types": ["", " "]}, "entity_types", "Add at least one entity type."),
        ({"name": "bad name!"}, "name", "Use letters, digits and hyphens; no spaces"),
        ({"documents_uri": ""}, "documents_uri", "Give an S3 URI or upload a file"),
        ({"documents_uri": "http://x/docs.txt"}, "documents_uri", "Give an S3 location such as"),
        ({"documents_uri": "s3://data/missing.txt"}, "documents_uri", "No objects found at"),
        ({"annotations_uri": "s3://data/missing.csv"}, "annotations_uri", "No objects found"),
        (
            {"training_type": "ENTITY_LIST"},
            "entity_list_uri",
            "Give an S3 URI or upload a file for the entity list",
        ),
        (
            {"test_source": "GIVEN", "test_documents_uri": "s3://data/ner/docs/"},
            "test_annotations_uri",
            "for the test annotations",
        ),
        (
            {"training_type": "ENTITY_LIST", "entity_list_uri": "s3://data/ner/ann.csv"}
            | {"test_source": "GIVEN"},
            "test_source",
            "tested on a split of its own documents",
        ),
        (
            {"data_format": "AUGMENTED_MANIFEST", "manifest_uri": "s3://data/ner/ann.csv"},
            "attribute_name",
            "Name the attribute that holds the annotations",
        ),
        ({"data_access_role_arn": "role"}, "data_access_role_arn", "Give the ARN of an IAM role"),
        ({"tag_key_1": "", "tag_value_1": "orphan"}, "tag_key_1", "needs a key"),
    ],
)
def test_form_errors_name_the_field_and_keep_what_was_typed(
    client, owner, overrides, field, message
):
    put_training_data(owner)
    client.force_login(owner)
    data = form_data(**{"version_name": "typed-version", **overrides})
    resp = client.post(reverse("models_app:recognizer-create"), data)
    assert resp.status_code == 200
    body = text(resp)
    assert message in field_error(body, field), field_error(body, field) or body
    assert 'value="typed-version"' in body and 'value="team"' in body
    for typed in data["entity_types"]:
        if typed.strip():
            assert f'name="entity_types" value="{typed}"' in body
    assert not ModelVersion.objects.exists()


def test_an_unsupported_language_shows_the_services_message(client, owner):
    put_training_data(owner)
    client.force_login(owner)
    resp = client.post(reverse("models_app:recognizer-create"), form_data(language_code="ja"))
    assert field_error(text(resp), "language_code") == (
        "Custom entity recognizers support the languages en, es, fr, it, de, pt; "
        "'ja' is not one of them."
    )


def test_a_duplicate_version_name_is_refused_on_the_field(client, owner):
    put_training_data(owner)
    recognizer(owner, name="people", version_name="v1")
    client.force_login(owner)
    resp = client.post(reverse("models_app:recognizer-create"), form_data())
    body = text(resp)
    assert "already has version 'v1'" in field_error(body, "version_name")
    assert ModelVersion.objects.count() == 1


def test_a_refused_upload_is_kept_as_its_uri(client, owner):
    client.force_login(owner)
    data = form_data(
        entity_types=["BAD TYPE"],
        documents_uri="",
        documents_file=upload("recognizer-docs.txt", DOCS),
        annotations_uri="",
        annotations_file=upload("ann.csv", ANNOTATIONS),
    )
    body = text(client.post(reverse("models_app:recognizer-create"), data))
    assert "upper-case" in field_error(body, "entity_types")
    docs = re.search(r'name="documents_uri" value="(s3://uploads/[^"]+)"', body).group(1)
    ann = re.search(r'name="annotations_uri" value="(s3://uploads/[^"]+)"', body).group(1)
    # Sending the form again with the type fixed needs no second upload.
    data = form_data(documents_uri=docs, annotations_uri=ann)
    assert client.post(reverse("models_app:recognizer-create"), data).status_code == 302
    assert ModelVersion.objects.get().input_data_config["Documents"]["S3Uri"] == docs


def test_per_file_documents_need_a_folder_uri(client, owner):
    put_training_data(owner)
    client.force_login(owner)
    data = form_data(
        input_format="ONE_DOC_PER_FILE",
        documents_uri="",
        documents_file=upload("recognizer-docs.txt", DOCS),
    )
    body = text(client.post(reverse("models_app:recognizer-create"), data))
    assert "give the S3 URI of the folder" in field_error(body, "documents_file")
    assert not ModelVersion.objects.exists()


# New versions


def test_the_new_version_form_repeats_the_chosen_version(client, owner, member):
    put_training_data(owner)
    put(owner, "ner/test-docs.txt", DOCS)
    put(owner, "ner/test-ann.csv", ANNOTATIONS)
    config = {
        **CONFIG,
        "Documents": {**CONFIG["Documents"], "TestS3Uri": "s3://data/ner/test-docs.txt"},
        "Annotations": {**CONFIG["Annotations"], "TestS3Uri": "s3://data/ner/test-ann.csv"},
    }
    parent = recognizer(
        owner, version_name="v1", language_code="de", input_data_config=config, test_source="GIVEN"
    )
    tags_set(account=parent.account, resource_arn=parent.arn, tags=[("team", "news-desk")])
    client.force_login(member)
    url = urls_of(parent)["new_version"]
    body = text(client.get(url))
    assert "Create a new version of people" in body
    assert re.search(r'name="name" value="people"[^>]*disabled', body)
    assert 'name="version_name" value=' not in body
    for t in TYPES:
        assert f'name="entity_types" value="{t}"' in body
    for value in (
        "s3://data/ner/docs/recognizer-docs.txt",
        "s3://data/ner/ann.csv",
        "s3://data/ner/test-docs.txt",
        "s3://data/ner/test-ann.csv",
        "news-desk",
    ):
        assert f'value="{value}"' in body
    assert '<option value="de" selected>' in body
    assert re.search(r'value="GIVEN"[^>]*checked', body)
    assert re.search(r'value="ANNOTATIONS"[^>]*checked', body)

    data = form_data(
        name="ignored",  # the model name comes from the chosen version
        version_name="v2",
        language_code="de",
        entity_types=TYPES,
        test_source="GIVEN",
        test_documents_uri="s3://data/ner/test-docs.txt",
        test_annotations_uri="s3://data/ner/test-ann.csv",
    )
    resp = client.post(url, data)
    assert resp.url == reverse("models_app:recognizer-detail", args=["people"])
    child = ModelVersion.objects.get(version_name="v2")
    assert child.parent == parent and child.model == parent.model
    assert child.input_data_config == parent.input_data_config
    assert not CustomModel.objects.filter(name="ignored").exists()


def test_the_new_version_form_repeats_an_entity_list_version(client, owner):
    config = {
        "DataFormat": "COMPREHEND_CSV",
        "EntityTypes": [{"Type": "PRODUCT_CODE"}],
        "Documents": {"S3Uri": "s3://data/files/", "InputFormat": "ONE_DOC_PER_FILE"},
        "EntityList": {"S3Uri": "s3://data/list.csv"},
    }
    parent = recognizer(owner, input_data_config=config)
    client.force_login(owner)
    body = text(client.get(urls_of(parent)["new_version"]))
    assert re.search(r'value="ENTITY_LIST"[^>]*checked', body)
    assert re.search(r'value="ONE_DOC_PER_FILE"[^>]*checked', body)
    assert 'name="entity_types" value="PRODUCT_CODE"' in body
    assert 'value="s3://data/list.csv"' in body and 'value="s3://data/files/"' in body


def test_the_blank_new_version_form_has_the_defaults(client, owner):
    parent = recognizer(owner, language_code="de")
    client.force_login(owner)
    body = text(client.get(urls_of(parent)["blank_version"]))
    assert re.search(r'name="name" value="people"[^>]*disabled', body)
    assert '<option value="en" selected>' in body
    assert 'name="documents_uri" value=' not in body


def test_a_classifier_version_is_no_parent_for_a_recognizer(client, owner):
    classifier = factories.version(owner, name="people")
    client.force_login(owner)
    url = reverse("models_app:recognizer-create") + f"?from={classifier.pk}"
    assert client.get(url).status_code == 404


# The model page


def test_the_model_page_shows_versions_scores_and_the_chart(client, owner):
    v1 = recognizer(owner, version_name="v1", metrics={**METRICS, "F1Score": 0.7})
    v2 = recognizer(owner, version_name="v2")  # the best F1: 84.71%
    v3 = recognizer(owner, status=ModelStatus.IN_ERROR, message="bad data")
    client.force_login(owner)
    body = text(client.get(urls_of(v1)["detail"]))
    rows = re.findall(r'data-testid="version-row" data-version-id="(\d+)"', body)
    assert rows == [str(v3.pk), str(v2.pk), str(v1.pk)]
    assert ">Precision</th>" in body and ">Recall</th>" in body and ">F1 score</th>" in body
    assert "Accuracy" not in body
    best_row = re.search(rf'data-version-id="{v2.pk}".*?</tr>', body, re.S).group(0)
    assert "Best" in best_row
    assert "90.00%" in best_row and "80.00%" in best_row and "84.71%" in best_row
    assert ">360<" in best_row and ">40<" in best_row
    assert body.count('class="badge badge-best"') == 1
    assert "vendor/plotly.min.js" in body and "js/charts.js" in body
    trend = json_block(body, "trend-data")
    assert trend["versions"] == ["v1", "v2"] and trend["percent"] is True
    assert trend["metrics"] == {
        "F1Score": [0.7, 0.84706],
        "Precision": [0.9, 0.9],
        "Recall": [0.8, 0.8],
    }
    assert f'href="/models/create-recognizer/?from={v3.pk}"' in body

    body = text(client.get(urls_of(v1)["detail"], {"order": "best"}))
    rows = re.findall(r'data-testid="version-row" data-version-id="(\d+)"', body)
    assert rows == [str(v2.pk), str(v1.pk), str(v3.pk)]


def test_the_versions_table_polls_while_a_version_trains(client, owner):
    version = recognizer(
        owner,
        status=ModelStatus.TRAINING,
        progress=0.42,
        progress_step="epoch 3: dev F1 0.612",
    )
    client.force_login(owner)
    body = text(client.get(urls_of(version)["detail"]))
    assert 'data-poll-url="/models/recognizers/people/versions-table/' in body
    partial = text(client.get(urls_of(version)["versions"]))
    assert "data-poll-done" not in partial and "<html" not in partial
    assert 'aria-valuenow="42"' in partial and "epoch 3: dev F1 0.612" in partial
    assert "Stop" in partial and "Delete" not in partial
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelStatus.TRAINED)
    assert "data-poll-done" in text(client.get(urls_of(version)["versions"]))


# The version page


def test_the_version_page_shows_scores_per_entity_type_and_the_chart(client, owner):
    version = recognizer(
        owner,
        version_name="v1",
        training_parameters={"max_epochs": 30, "dropout": 0.2},
        test_source="AUTOSPLIT",
        artifact_sha256="a" * 64,
        data_sha256="b" * 64,
    )
    tags_set(account=version.account, resource_arn=version.arn, tags=[("team", "support")])
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    assert version.arn in body
    metrics = re.search(r'data-testid="metrics">(.*?)</dl>', body, re.S).group(1)
    for value in ("90.00%", "80.00%", "84.71%", ">4<", ">360<", ">40<"):
        assert value in metrics
    rows = re.findall(r'<tr data-testid="per-type-row">(.*?)</tr>', body, re.S)
    assert len(rows) == 4
    assert "LOCATION" in rows[0] and "95.00%" in rows[0] and "92.43%" in rows[0]
    assert ">120<" in rows[0]
    assert json_block(body, "per-type-data") == {
        "types": TYPES,
        "Precision": [0.95, 0.7, 0.8, 1.0],
        "Recall": [0.9, 0.5, 0.75, 0.95],
        "F1Score": [0.92432, 0.58333, 0.77419, 0.97436],
    }
    assert 'data-chart="entity-type-scores"' in body and "vendor/plotly.min.js" in body
    config = re.search(r'data-testid="training-config">(.*?)</dl>', body, re.S).group(1)
    for value in (
        "PERSON",
        "Annotations and training documents",
        "s3://data/ner/docs/recognizer-docs.txt",
        "one document per line",
        "s3://data/ner/ann.csv",
        "Autosplit",
    ):
        assert value in config
    assert "max_epochs" in body and "dropout" in body
    assert "a" * 64 in body and "b" * 64 in body
    assert "team" in body and "support" in body
    assert f'href="{urls_of(version)["metrics"]}"' in body
    assert 'id="try-it"' in body and 'name="text"' in body
    assert "<script>" not in body


def test_a_failed_version_shows_its_message_prominently(client, owner):
    message = (
        "recognizer-offset-past-line.csv: annotation row 11 ends at 80, past the end of "
        "line 5 of recognizer-docs.txt (62 characters)."
    )
    version = recognizer(owner, status=ModelStatus.IN_ERROR, message=message)
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    alert = re.search(r'<div class="alert alert-error" role="alert".*?</div>', body, re.S)
    assert message in alert.group(0)
    assert "Delete version" in body and "vendor/plotly.min.js" not in body
    assert 'id="try-it"' not in body and "Download metrics" not in body
    assert client.get(urls_of(version)["metrics"]).status_code == 404


def test_it_downloads_the_metrics_as_json(client, owner):
    version = recognizer(owner, version_name="v1")
    client.force_login(owner)
    resp = client.get(urls_of(version)["metrics"])
    assert resp.status_code == 200 and resp["Content-Type"].startswith("application/json")
    assert resp["Content-Disposition"] == 'attachment; filename="people-v1-metrics.json"'
    metadata = json.loads(resp.content)
    assert metadata["NumberOfTrainedDocuments"] == 360
    assert metadata["NumberOfTestDocuments"] == 40
    # Comprehend's scales: recognizer-level scores 0-100, per-type scores 0-1.
    assert metadata["EvaluationMetrics"] == {"Precision": 90.0, "Recall": 80.0, "F1Score": 84.706}
    assert metadata["EntityTypes"][3] == {
        "Type": "PERSON",
        "EvaluationMetrics": {"Precision": 1.0, "Recall": 0.95, "F1Score": 0.97436},
        "NumberOfTrainMentions": 150,
    }


def test_the_version_status_polls_while_training(client, owner):
    version = recognizer(owner, status=ModelStatus.SUBMITTED, progress_step="Waiting")
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    assert f'data-poll-url="{urls_of(version)["status"]}"' in body and "Stop training" in body
    assert 'id="try-it"' not in body
    partial = text(client.get(urls_of(version)["status"]))
    assert "Submitted" in partial and "data-poll-done" not in partial
    ModelVersion.objects.filter(pk=version.pk).update(status=ModelStatus.TRAINED)
    assert "data-poll-done" in text(client.get(urls_of(version)["status"]))


def test_try_it_refuses_long_text_and_untrained_versions(client, owner):
    version = recognizer(owner, version_name="v1")
    training = recognizer(owner, version_name="v2", status=ModelStatus.TRAINING)
    client.force_login(owner)
    url = post_urls_of(version)["try"]
    assert client.get(url).status_code == 405
    resp = client.post(url, {"text": "é" * 5001})  # 10,002 bytes of UTF-8
    assert resp.status_code == 200
    error = field_error(text(resp), "text")
    assert "10,002 bytes" in error and "the limit is 10,000 bytes" in error
    assert "é" * 5001 in text(resp)  # what was pasted stays in the box
    assert "Paste some text" in field_error(text(client.post(url, {"text": "  "})), "text")
    resp = client.post(post_urls_of(training)["try"], {"text": "Peter"}, follow=True)
    assert "Only a trained version can find entities." in text(resp)


def test_try_it_says_when_the_model_cannot_be_loaded(client, owner):
    version = recognizer(owner, version_name="v1")  # TRAINED, but no artifact on disk
    client.force_login(owner)
    resp = client.post(post_urls_of(version)["try"], {"text": "Peter went to Brussels."})
    assert resp.status_code == 200
    alert = re.search(r'data-testid="form-error">(.*?)</div>', text(resp), re.S).group(1)
    assert "has no trained artifact to serve" in alert
    assert "Peter went to Brussels." in text(resp)


@pytest.fixture
def trained_recognizer(transactional_db, owner, settings):
    """A recognizer trained for real through the services on the bad-inputs sample."""
    settings.RECOGNIZER_TIME_BUDGET_SECONDS = 20
    put_training_data(owner)
    version = recognizer_create(
        account=owner.membership.account,
        name="people",
        version_name="v1",
        language_code="en",
        input_data_config=CONFIG,
        data_access_role_arn=f"arn:aws:iam::{owner.membership.account.account_id}:role/x",
    )
    run_queued_jobs()
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED, version.message
    yield version
    serving.clear()


def test_try_it_marks_the_entities_a_trained_recognizer_finds(client, owner, trained_recognizer):
    version = trained_recognizer
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    assert len(re.findall(r'data-testid="per-type-row"', body)) == 4
    assert json_block(body, "per-type-data")["types"] == TYPES

    sample = DOCS.decode().splitlines()[3]  # "The European Commission said on Thursday ..."
    pasted = f"<b>{sample}</b>\n{sample}"
    resp = client.post(post_urls_of(version)["try"], {"text": pasted})
    assert resp.status_code == 200
    raw = resp.content.decode()
    assert "<b>" not in raw and "&lt;b&gt;" in raw  # pasted text is escaped, never markup
    output = re.search(r'<div class="try-output" data-testid="try-output">(.*?)</div>', raw, re.S)
    marks = re.findall(
        r'<mark class="ent ent-c(\d+)" title="([A-Z_]+), score ([0-9.]+)">(.*?)'
        r'<span class="ent-tag">\2 [0-9.]+</span></mark>',
        output.group(1),
    )
    assert marks, output.group(1)
    for colour, type_, score, entity_text in marks:
        assert type_ in TYPES and int(colour) == TYPES.index(type_)
        assert 0 < float(score) <= 1 and html.unescape(entity_text) in pasted
    # Without the marks the output is exactly the pasted text.
    plain = re.sub(r'<span class="ent-tag">.*?</span>|<[^>]+>', "", output.group(1))
    assert html.unescape(plain) == pasted
    rows = re.findall(r'<tr data-testid="try-entity-row">', raw)
    assert len(rows) == len(marks)
    legend = re.search(r'data-testid="entity-legend">(.*?)</div>', raw, re.S).group(1)
    assert all(t in legend for t in TYPES)


# Stop and delete


def test_it_stops_a_training_version(client, owner):
    version = recognizer(owner, version_name="v1", status=ModelStatus.TRAINING)
    client.force_login(owner)
    url = post_urls_of(version)["stop"]
    assert client.get(url).status_code == 405
    resp = client.post(url, {"next": urls_of(version)["detail"]}, follow=True)
    assert resp.redirect_chain[-1][0] == urls_of(version)["detail"]
    assert "Training of version v1 was stopped." in text(resp)
    version.refresh_from_db()
    assert version.status == ModelStatus.STOPPED


def test_stopping_a_trained_version_is_refused_with_a_message(client, owner):
    version = recognizer(owner)
    client.force_login(owner)
    resp = client.post(
        post_urls_of(version)["stop"], {"next": "https://evil.example/"}, follow=True
    )
    assert resp.redirect_chain[-1][0] == urls_of(version)["version"]
    assert "only a submitted or training version can be stopped" in text(resp)


def test_it_deletes_versions_and_then_the_model(client, owner):
    v1 = recognizer(owner, version_name="v1")
    v2 = recognizer(owner, version_name="v2")
    tags_set(account=v1.account, resource_arn=v1.arn, tags=[("k", "v")])
    client.force_login(owner)
    assert 'data-confirm="Delete version v1 of people?' in text(client.get(urls_of(v1)["version"]))
    url = post_urls_of(v1)["delete"]
    assert client.get(url).status_code == 405
    resp = client.post(url, follow=True)
    assert resp.redirect_chain[-1][0] == urls_of(v1)["detail"]
    assert "Version v1 of people was deleted." in text(resp)
    assert tags_of(v1.account, v1.arn) == []
    resp = client.post(post_urls_of(v2)["delete"])
    assert resp.url == reverse("models_app:recognizer-list")
    assert not CustomModel.objects.filter(name="people").exists()


def test_deleting_a_training_version_is_refused_with_a_message(client, owner):
    version = recognizer(owner, status=ModelStatus.TRAINING)
    client.force_login(owner)
    resp = client.post(post_urls_of(version)["delete"], follow=True)
    assert "stop its training before deleting it" in text(resp)
    assert ModelVersion.objects.filter(pk=version.pk).exists()


# Tenancy


def test_another_account_gets_404_everywhere_and_a_member_sees_everything(
    client, owner, member, outsider
):
    version = recognizer(owner, name="private", version_name="v1")
    urls, posts = urls_of(version), post_urls_of(version)
    # The classifier pages do not show a recognizer either.
    as_classifier = reverse("models_app:classifier-version-detail", args=["private", version.pk])

    client.force_login(outsider)
    for url in [*urls.values(), as_classifier]:
        assert client.get(url).status_code == 404, url
    for url in posts.values():
        assert client.post(url, {"text": "Peter"}).status_code == 404, url
    assert client.post(urls["new_version"], form_data()).status_code == 404
    assert "private" not in text(client.get(reverse("models_app:recognizer-list")))
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED

    client.force_login(member)
    for url in urls.values():
        assert client.get(url).status_code == 200, url
    assert client.get(as_classifier).status_code == 404
    assert ">private</a>" in text(client.get(reverse("models_app:recognizer-list")))
    assert client.post(posts["delete"]).status_code == 302
    assert not ModelVersion.objects.filter(pk=version.pk).exists()
