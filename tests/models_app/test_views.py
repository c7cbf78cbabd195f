"""The custom classification console: list, create, model and version pages, stop and delete."""

import io
import re
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from models_app.models import CustomModel, ModelStatus, ModelVersion
from tests import classifier_cases as cases
from tests import factories
from tests.conftest import BAD_INPUTS, run_queued_jobs
from tests.models_app.pages import field_error, json_block, text
from webapp.accounts.services.tags import tags_of, tags_set
from webapp.core import storage

LABELS = ("sports", "politics", "science")
WORDS = {
    "sports": "match goal team season coach league",
    "politics": "vote election senate policy minister law",
    "science": "atom cell experiment theory physics lab",
}
METRICS = {
    "Accuracy": 0.91234,
    "Precision": 0.9,
    "Recall": 0.88,
    "F1Score": 0.8765,
    "MicroPrecision": 0.91,
    "MicroRecall": 0.91,
    "MicroF1Score": 0.91234,
    "HammingLoss": 0.08766,
}
PER_LABEL = [
    {"label": label, "precision": 0.9, "recall": 0.8, "f1": 0.847, "support": 4} for label in LABELS
]
CONFUSION = {
    "type": "multi_class",
    "confusion_matrix": [[4, 0, 0], [1, 3, 0], [0, 0, 4]],
    "labels": list(LABELS),
    "all_labels": list(LABELS),
}
PR_CURVES = {
    label: {"precision": [0.5, 0.8, 1.0], "recall": [1.0, 0.75, 0.5], "thresholds": [0.1, 0.5]}
    for label in LABELS
}


def tiny_csv() -> bytes:
    """3 labels x 12 documents in Comprehend's label,text CSV."""
    rows = []
    for i in range(12):
        for label in LABELS:
            rows.append(f'{label},"{WORDS[label]} document {i} {WORDS[label].split()[i % 6]}"')
    return ("\n".join(rows) + "\n").encode()


def put(user, key: str, data: bytes = b"") -> str:
    uri = storage.S3Uri("data", key)
    storage.save_upload(user.membership.account.account_id, uri, io.BytesIO(data or tiny_csv()))
    return str(uri)


def trained(user, **fields):
    fields.setdefault("metrics", METRICS)
    fields.setdefault("per_label_metrics", PER_LABEL)
    fields.setdefault("evaluation", {"confusion_matrix": CONFUSION, "pr_curves": PR_CURVES})
    fields.setdefault("number_of_labels", 3)
    fields.setdefault("number_of_trained_documents", 32)
    fields.setdefault("number_of_test_documents", 4)
    return factories.version(user, status=ModelStatus.TRAINED, **fields)


def form_data(**overrides) -> dict:
    data = {
        "name": "news",
        "version_name": "v1",
        "language_code": "en",
        "mode": "MULTI_CLASS",
        "label_delimiter": "|",
        "data_format": "COMPREHEND_CSV",
        "attribute_name": "",
        "training_uri": "s3://data/train.csv",
        "test_source": "AUTOSPLIT",
        "test_uri": "",
        "output_uri": "s3://output/",
        "data_access_role_arn": "arn:aws:iam::111122223333:role/Textwheel",
        "tag_key_0": "team",
        "tag_value_0": "support",
    }
    data.update(overrides)
    return data


def urls_of(version) -> dict:
    name, pk = version.model.name, version.pk
    return {
        "detail": reverse("models_app:classifier-detail", args=[name]),
        "versions": reverse("models_app:classifier-versions", args=[name]),
        "version": reverse("models_app:classifier-version-detail", args=[name, pk]),
        "status": reverse("models_app:classifier-version-status", args=[name, pk]),
        "output": reverse("models_app:classifier-version-output", args=[name, pk]),
        "new_version": reverse("models_app:classifier-create") + f"?from={pk}",
        "blank_version": reverse("models_app:classifier-create") + f"?model={name}",
    }


# The list


def test_it_lists_classifiers_and_filters_them(client, owner, outsider):
    trained(owner, name="news", version_name="v1")
    factories.version(owner, name="news", version_name="v2", status=ModelStatus.TRAINING)
    trained(owner, name="spam", version_name="a", metrics={**METRICS, "F1Score": 0.5})
    trained(outsider, name="secret")
    client.force_login(owner)
    url = reverse("models_app:classifier-list")

    body = text(client.get(url))
    assert 'aria-sort="ascending"><a class="sort-link" href="?sort=name&dir=desc"' in body
    assert ">news</a>" in body and ">spam</a>" in body and "secret" not in body
    assert "0.5000" in body and "Training" in body  # spam's F1, news's latest status

    body = text(client.get(url, {"status": "TRAINING"}))
    assert ">news</a>" in body and ">spam</a>" not in body
    body = text(client.get(url, {"name": "SPA"}))
    assert ">spam</a>" in body and ">news</a>" not in body
    body = text(client.get(url, {"status": "STOPPED"}))
    assert "No classifiers match these filters" in body
    assert "vendor/plotly.min.js" not in body


def test_the_empty_list_says_what_to_do(client, outsider):
    client.force_login(outsider)
    body = text(client.get(reverse("models_app:classifier-list")))
    assert "No classifiers yet" in body
    assert f'href="{reverse("models_app:classifier-create")}"' in body


def test_pages_need_a_signed_in_user(client, owner):
    version = trained(owner)
    for url in [reverse("models_app:classifier-list"), *urls_of(version).values()]:
        assert client.get(url).status_code == 302


# Creating


def test_it_creates_a_classifier_from_a_uri(client, owner):
    put(owner, "train.csv")
    client.force_login(owner)
    resp = client.post(reverse("models_app:classifier-create"), form_data())
    assert resp.status_code == 302
    assert resp.url == reverse("models_app:classifier-detail", args=["news"])
    version = ModelVersion.objects.get(model__name="news")
    assert (version.version_name, version.status) == ("v1", ModelStatus.SUBMITTED)
    assert version.account == owner.membership.account
    assert version.input_data_config == {
        "DataFormat": "COMPREHEND_CSV",
        "S3Uri": "s3://data/train.csv",
    }
    assert version.output_data_config == {"S3Uri": "s3://output/"}
    assert (version.mode, version.language_code) == ("MULTI_CLASS", "en")
    assert tags_of(version.account, version.arn) == [{"Key": "team", "Value": "support"}]
    assert version.parent is None


def test_the_form_starts_from_the_defaults(client, owner):
    client.force_login(owner)
    body = text(client.get(reverse("models_app:classifier-create")))
    role = f"arn:aws:iam::{owner.membership.account.account_id}:role/TextwheelDataAccessRole"
    assert f'value="{role}"' in body
    assert 'value="s3://output/"' in body
    assert '<option value="en" selected>' in body
    assert len(re.findall(r'name="tag_key_\d+"', body)) >= 3
    assert 'for="id_name"' in body and 'for="id_training_file"' in body


def test_it_creates_a_multi_label_classifier_from_uploads(client, owner):
    client.force_login(owner)
    data = form_data(
        name="genres",
        mode="MULTI_LABEL",
        label_delimiter="~",
        training_uri="",
        test_source="GIVEN",
        output_uri="",
        training_file=SimpleUploadedFile("my train.csv", tiny_csv(), content_type="text/csv"),
        test_file=SimpleUploadedFile("test.csv", tiny_csv(), content_type="text/csv"),
    )
    resp = client.post(reverse("models_app:classifier-create"), data)
    assert resp.status_code == 302, field_error(text(resp), "training_uri")
    version = ModelVersion.objects.get(model__name="genres")
    config = version.input_data_config
    assert config["LabelDelimiter"] == "~" and version.mode == "MULTI_LABEL"
    assert re.fullmatch(r"s3://uploads/[0-9a-f]{32}/my_train\.csv", config["S3Uri"])
    assert re.fullmatch(r"s3://uploads/[0-9a-f]{32}/test\.csv", config["TestS3Uri"])
    account_id = owner.membership.account.account_id
    stored = storage.parse_uri(config["S3Uri"], field="S3Uri")
    with storage.open_read(account_id, stored) as handle:
        assert handle.read() == tiny_csv()
    assert version.output_data_config == {}


@pytest.mark.parametrize(
    "typed, names",
    [("genre", ["genre"]), ("genre, mood", ["genre", "mood"])],  # a chained labelling job
)
def test_it_creates_from_an_augmented_manifest(client, owner, typed, names):
    put(owner, "train.manifest", b'{"source": "a", "genre": "x", "mood": "y"}\n')
    client.force_login(owner)
    data = form_data(
        data_format="AUGMENTED_MANIFEST",
        attribute_name=typed,
        training_uri="s3://data/train.manifest",
    )
    assert client.post(reverse("models_app:classifier-create"), data).status_code == 302
    version = ModelVersion.objects.get()
    assert version.input_data_config == {
        "DataFormat": "AUGMENTED_MANIFEST",
        "AugmentedManifests": [
            {"S3Uri": "s3://data/train.manifest", "AttributeNames": names, "Split": "TRAIN"}
        ],
    }
    body = text(client.get(urls_of(version)["new_version"]))
    assert re.search(rf'name="attribute_name"[^>]*value="{typed}"', body)


@pytest.mark.parametrize(
    "overrides, field, message",
    [
        ({"name": "bad name!"}, "name", "Use letters, digits and hyphens; no spaces"),
        ({"version_name": "-v1"}, "version_name", "Start and end with a letter or digit"),
        ({"training_uri": "http://data/train.csv"}, "training_uri", "Give an S3 location such as"),
        ({"training_uri": "s3://data/missing.csv"}, "training_uri", "No objects found at"),
        ({"training_uri": ""}, "training_uri", "Give an S3 URI or upload a file"),
        ({"test_source": "GIVEN"}, "test_uri", "Give an S3 URI or upload a file"),
        ({"output_uri": "output"}, "output_uri", "Give an S3 location such as"),
        ({"data_access_role_arn": "role"}, "data_access_role_arn", "Give the ARN of an IAM role"),
        ({"language_code": "ja"}, "language_code", "'ja' is not one of them"),
        (
            {"data_format": "AUGMENTED_MANIFEST"},
            "attribute_name",
            "Name the attribute that holds the labels",
        ),
        ({"tag_key_1": "", "tag_value_1": "orphan"}, "tag_key_1", "needs a key"),
    ],
)
def test_form_errors_name_the_field_and_keep_what_was_typed(
    client, owner, overrides, field, message
):
    put(owner, "train.csv")
    client.force_login(owner)
    data = form_data(**{"version_name": "typed-version", **overrides})
    resp = client.post(reverse("models_app:classifier-create"), data)
    assert resp.status_code == 200
    body = text(resp)
    assert message in field_error(body, field)
    kept = data["version_name"]
    assert f'value="{kept}"' in body and 'value="team"' in body and 'value="support"' in body
    assert not ModelVersion.objects.exists()


def test_an_unsupported_language_shows_the_services_message(client, owner):
    put(owner, "train.csv")
    client.force_login(owner)
    resp = client.post(reverse("models_app:classifier-create"), form_data(language_code="ja"))
    assert field_error(text(resp), "language_code") == (
        "Custom classifiers support the languages en, es, fr, de, it, pt; 'ja' is not one of them."
    )


def test_a_duplicate_version_name_is_refused_on_the_field(client, owner):
    put(owner, "train.csv")
    trained(owner, name="news", version_name="v1")
    client.force_login(owner)
    resp = client.post(
        reverse("models_app:classifier-create"), form_data(output_uri="s3://results/")
    )
    body = text(resp)
    assert "already has version 'v1'" in field_error(body, "version_name")
    assert 'value="s3://results/"' in body
    assert ModelVersion.objects.count() == 1


def test_a_refused_upload_is_kept_as_its_uri(client, owner):
    trained(owner, name="news", version_name="v1")
    client.force_login(owner)
    upload = SimpleUploadedFile("train.csv", tiny_csv(), content_type="text/csv")
    data = form_data(training_uri="", training_file=upload)
    body = text(client.post(reverse("models_app:classifier-create"), data))
    assert "already has version 'v1'" in body
    uri = re.search(r'name="training_uri" value="(s3://uploads/[^"]+)"', body).group(1)
    # Sending the form again with a new version name needs no second upload.
    data = form_data(version_name="v2", training_uri=uri)
    assert client.post(reverse("models_app:classifier-create"), data).status_code == 302
    assert ModelVersion.objects.get(version_name="v2").input_data_config["S3Uri"] == uri


# New versions


def test_the_new_version_form_repeats_the_chosen_version(client, owner, member):
    put(owner, "train.csv")
    put(owner, "test.csv")
    parent = trained(
        owner,
        name="news",
        version_name="v1",
        language_code="de",
        mode="MULTI_LABEL",
        input_data_config={
            "DataFormat": "COMPREHEND_CSV",
            "S3Uri": "s3://data/train.csv",
            "TestS3Uri": "s3://data/test.csv",
            "LabelDelimiter": "~",
        },
        output_data_config={"S3Uri": "s3://results/"},
    )
    tags_set(account=parent.account, resource_arn=parent.arn, tags=[("team", "news-desk")])
    client.force_login(member)
    url = urls_of(parent)["new_version"]
    body = text(client.get(url))
    assert "Create a new version of news" in body
    assert re.search(r'name="name" value="news"[^>]*disabled', body)
    assert 'name="version_name"' in body and 'name="version_name" value=' not in body
    for value in ("s3://data/train.csv", "s3://data/test.csv", "s3://results/", "~", "news-desk"):
        assert f'value="{value}"' in body
    assert '<option value="de" selected>' in body
    assert re.search(r'value="MULTI_LABEL"[^>]*checked', body)
    assert re.search(r'value="GIVEN"[^>]*checked', body)

    data = form_data(
        name="ignored",  # the model name comes from the chosen version
        version_name="v2",
        language_code="de",
        mode="MULTI_LABEL",
        label_delimiter="~",
        test_source="GIVEN",
        test_uri="s3://data/test.csv",
    )
    resp = client.post(url, data)
    assert resp.url == reverse("models_app:classifier-detail", args=["news"])
    child = ModelVersion.objects.get(version_name="v2")
    assert child.parent == parent and child.model == parent.model
    assert child.input_data_config == parent.input_data_config
    assert not CustomModel.objects.filter(name="ignored").exists()


def test_a_new_version_needs_its_own_name(client, owner):
    put(owner, "train.csv")
    parent = trained(owner, input_data_config={"S3Uri": "s3://data/train.csv"})  # unnamed
    client.force_login(owner)
    resp = client.post(urls_of(parent)["new_version"], form_data(version_name=""))
    assert "already has an unnamed version" in field_error(text(resp), "version_name")


def test_the_blank_new_version_form_has_the_defaults(client, owner):
    parent = trained(owner, name="news", language_code="de")
    client.force_login(owner)
    body = text(client.get(urls_of(parent)["blank_version"]))
    assert re.search(r'name="name" value="news"[^>]*disabled', body)
    assert '<option value="en" selected>' in body
    assert 'name="training_uri" value=' not in body


# The model page


def test_the_model_page_shows_versions_scores_and_the_chart(client, owner):
    v1 = trained(owner, name="news", version_name="v1", metrics={**METRICS, "F1Score": 0.7})
    v2 = trained(owner, name="news", version_name="v2")  # the best F1: 0.8765
    v3 = factories.version(owner, name="news", status=ModelStatus.IN_ERROR, message="bad data")
    trained(owner, name="other", version_name="v9", metrics={**METRICS, "F1Score": 0.99})
    client.force_login(owner)
    body = text(client.get(urls_of(v1)["detail"]))
    rows = re.findall(r'data-testid="version-row" data-version-id="(\d+)"', body)
    assert rows == [str(v3.pk), str(v2.pk), str(v1.pk)]  # newest first
    assert body.count('class="badge badge-best"') == 1
    best_row = re.search(rf'data-version-id="{v2.pk}".*?</tr>', body, re.S).group(0)
    assert "Best" in best_row and "0.8765" in best_row and "0.9123" in best_row
    assert "In error" in body and "data-poll-done" in body
    assert "vendor/plotly.min.js" in body and "js/charts.js" in body
    trend = json_block(body, "trend-data")
    assert trend["versions"] == ["v1", "v2"]
    assert trend["metrics"]["F1Score"] == [0.7, 0.8765]
    assert set(trend["metrics"]) == set(METRICS)  # every evaluation metric
    assert trend["hidden"] == ["MicroPrecision", "MicroRecall", "HammingLoss"]
    assert trend["metrics"]["HammingLoss"] == [0.08766, 0.08766]
    assert f'?from={v3.pk}"' in body  # "new version" from any row, as from the latest

    body = text(client.get(urls_of(v1)["detail"], {"order": "best"}))
    rows = re.findall(r'data-testid="version-row" data-version-id="(\d+)"', body)
    assert rows == [str(v2.pk), str(v1.pk), str(v3.pk)]
    assert "versions-table/?order=best" in body


def test_the_versions_table_polls_while_a_version_trains(client, owner):
    version = factories.version(
        owner, status=ModelStatus.TRAINING, progress=0.42, progress_step="Fitting the model"
    )
    client.force_login(owner)
    body = text(client.get(urls_of(version)["detail"]))
    assert 'data-poll-url="/models/classifiers/news/versions-table/' in body
    assert "data-reload-when-done" in body
    partial = text(client.get(urls_of(version)["versions"]))
    assert "data-poll-done" not in partial and "<html" not in partial
    assert 'aria-valuenow="42"' in partial and "42%" in partial
    assert "Fitting the model" in partial and "Stop" in partial
    assert "The chart appears when a version has finished training" in body
    assert "vendor/plotly.min.js" not in body

    ModelVersion.objects.filter(pk=version.pk).update(status=ModelStatus.TRAINED)
    partial = text(client.get(urls_of(version)["versions"]))
    assert "data-poll-done" in partial and "42%" not in partial


# The version page


def test_the_version_page_shows_metrics_labels_and_charts(client, owner):
    version = trained(
        owner,
        name="news",
        version_name="v1",
        training_parameters={"model": "LinearSVC", "C": 1.0, "ngram_range": [1, 2]},
        test_source="AUTOSPLIT",
        input_data_config={"DataFormat": "COMPREHEND_CSV", "S3Uri": "s3://data/train.csv"},
        output_data_config={"S3Uri": "s3://output/"},
        output_uri="s3://output/x-CLR-1/output/output.tar.gz",
        artifact_sha256="a" * 64,
        data_sha256="b" * 64,
    )
    tags_set(account=version.account, resource_arn=version.arn, tags=[("team", "support")])
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    assert version.arn in body
    metrics = re.search(r'data-testid="metrics">(.*?)</dl>', body, re.S).group(1)
    for value in ("0.9123", "0.9000", "0.8800", "0.8765", "0.9100", "0.0877"):
        assert value in metrics
    assert "F1 score (macro)" in metrics and "Hamming loss" in metrics
    assert len(re.findall(r'data-testid="per-label-row"', body)) == 3
    assert "0.8470" in body
    assert json_block(body, "confusion-data") == {
        "kind": "heatmap",
        "labels": list(LABELS),
        "z": CONFUSION["confusion_matrix"],
    }
    assert json_block(body, "pr-data")["science"]["recall"] == [1.0, 0.75, 0.5]
    assert 'data-chart="confusion-matrix"' in body and 'data-chart="pr-curves"' in body
    assert "vendor/plotly.min.js" in body
    assert "LinearSVC" in body and "ngram_range" in body and "Autosplit" in body
    assert "a" * 64 in body and "b" * 64 in body
    assert "team" in body and "support" in body
    assert "Download output.tar.gz" in body
    assert 'class="badge badge-best"' in body
    assert "<script>" not in body  # data goes through json_script, code through charts.js


def test_a_multi_label_version_shows_counts_per_label(client, owner):
    confusion = {
        "type": "multi_label",
        "confusion_matrix": [[[8, 1], [2, 3]], [[9, 0], [1, 4]]],
        "labels": ["comedy", "drama"],
        "all_labels": ["comedy", "drama"],
    }
    version = trained(
        owner,
        mode="MULTI_LABEL",
        evaluation={"confusion_matrix": confusion},
        per_label_metrics=[
            {"label": "comedy", "precision": 0.75, "recall": 0.6, "f1": 0.667, "support": 5},
            {"label": "drama", "precision": 1.0, "recall": 0.8, "f1": 0.889, "support": 5},
        ],
    )
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    assert json_block(body, "confusion-data") == {
        "kind": "bars",
        "labels": ["comedy", "drama"],
        "tp": [3, 4],
        "fp": [1, 0],
        "fn": [2, 1],
    }
    assert 'data-chart="label-counts"' in body and "pr-data" not in body


def test_a_failed_version_shows_its_message(client, owner):
    version = factories.version(
        owner,
        status=ModelStatus.IN_ERROR,
        message="train.csv line 7: the row has no text after the label.",
    )
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    alert = re.search(r'<div class="alert alert-error" role="alert".*?</div>', body, re.S)
    assert "train.csv line 7: the row has no text after the label." in alert.group(0)
    assert "vendor/plotly.min.js" not in body and "Delete version" in body


def test_the_version_status_polls_while_training(client, owner):
    version = factories.version(owner, status=ModelStatus.SUBMITTED, progress_step="Waiting")
    client.force_login(owner)
    body = text(client.get(urls_of(version)["version"]))
    assert f'data-poll-url="{urls_of(version)["status"]}"' in body and "Stop training" in body
    partial = text(client.get(urls_of(version)["status"]))
    assert "Submitted" in partial and "Waiting" in partial and "data-poll-done" not in partial
    ModelVersion.objects.filter(pk=version.pk).update(
        status=ModelStatus.TRAINED_WITH_WARNING, message="Label x has only 3 documents."
    )
    partial = text(client.get(urls_of(version)["status"]))
    assert "data-poll-done" in partial and "alert-warning" in partial
    assert "Label x has only 3 documents." in partial


def test_it_downloads_the_output_archive(client, owner):
    account_id = owner.membership.account.account_id
    uri = storage.S3Uri("output", f"{account_id}-CLR-abc/output/output.tar.gz")
    storage.save_upload(account_id, uri, io.BytesIO(b"\x1f\x8b archive bytes"))
    version = trained(owner, output_uri=str(uri))
    missing = trained(owner, name="gone", output_uri="s3://output/nothing/output.tar.gz")
    none = trained(owner, name="none")
    client.force_login(owner)
    resp = client.get(urls_of(version)["output"])
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == b"\x1f\x8b archive bytes"
    assert 'filename="output.tar.gz"' in resp["Content-Disposition"]
    assert client.get(urls_of(missing)["output"]).status_code == 404
    assert client.get(urls_of(none)["output"]).status_code == 404


# Stop and delete


def test_it_stops_a_training_version(client, owner):
    version = factories.version(owner, version_name="v1", status=ModelStatus.TRAINING)
    client.force_login(owner)
    url = reverse("models_app:classifier-version-stop", args=["news", version.pk])
    assert client.get(url).status_code == 405
    resp = client.post(url, {"next": urls_of(version)["detail"]}, follow=True)
    assert resp.redirect_chain[-1][0] == urls_of(version)["detail"]
    assert "Training of version v1 was stopped." in text(resp)
    version.refresh_from_db()
    assert version.status == ModelStatus.STOPPED  # its job had not started: stopped at once


def test_stopping_a_trained_version_is_refused_with_a_message(client, owner):
    version = trained(owner)
    client.force_login(owner)
    url = reverse("models_app:classifier-version-stop", args=["news", version.pk])
    resp = client.post(url, {"next": "https://evil.example.com/"}, follow=True)
    assert resp.redirect_chain[-1][0] == urls_of(version)["version"]
    assert "only a submitted or training version can be stopped" in text(resp)
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED


def test_it_deletes_versions_and_then_the_model(client, owner):
    v1 = trained(owner, version_name="v1")
    v2 = trained(owner, version_name="v2")
    tags_set(account=v1.account, resource_arn=v1.arn, tags=[("k", "v")])
    client.force_login(owner)
    version_page = text(client.get(urls_of(v1)["version"]))
    assert 'data-confirm="Delete version v1 of news?' in version_page
    url = reverse("models_app:classifier-version-delete", args=["news", v1.pk])
    assert client.get(url).status_code == 405
    resp = client.post(url, follow=True)
    assert resp.redirect_chain[-1][0] == urls_of(v1)["detail"]
    assert "Version v1 of news was deleted." in text(resp)
    assert not ModelVersion.objects.filter(pk=v1.pk).exists()
    assert tags_of(v1.account, v1.arn) == []
    resp = client.post(reverse("models_app:classifier-version-delete", args=["news", v2.pk]))
    assert resp.url == reverse("models_app:classifier-list")
    assert not CustomModel.objects.filter(name="news").exists()


def test_deleting_a_training_version_is_refused_with_a_message(client, owner):
    version = factories.version(owner, version_name="v1", status=ModelStatus.TRAINING)
    client.force_login(owner)
    url = reverse("models_app:classifier-version-delete", args=["news", version.pk])
    resp = client.post(url, follow=True)
    assert "stop its training before deleting it" in text(resp)
    assert 'class="alert alert-error"' in text(resp)
    assert ModelVersion.objects.filter(pk=version.pk).exists()


# Tenancy


def test_another_account_gets_404_everywhere_and_a_member_sees_everything(
    client, owner, member, outsider
):
    version = trained(owner, name="private", output_uri="s3://output/private/output.tar.gz")
    account_id = owner.membership.account.account_id
    storage.save_upload(
        account_id,
        storage.parse_uri(version.output_uri, field="x"),
        io.BytesIO(b"archive"),
    )
    urls = urls_of(version)
    stop = reverse("models_app:classifier-version-stop", args=["private", version.pk])
    delete = reverse("models_app:classifier-version-delete", args=["private", version.pk])

    client.force_login(outsider)
    for url in urls.values():
        assert client.get(url).status_code == 404, url
    assert client.post(stop).status_code == 404
    assert client.post(delete).status_code == 404
    # Naming the model in a create form of one's own is no way in either.
    assert client.post(urls["new_version"], form_data()).status_code == 404
    assert "private" not in text(client.get(reverse("models_app:classifier-list")))
    version.refresh_from_db()
    assert version.status == ModelStatus.TRAINED

    client.force_login(member)
    for url in urls.values():
        assert client.get(url).status_code == 200, url
    assert ">private</a>" in text(client.get(reverse("models_app:classifier-list")))
    assert client.post(delete).status_code == 302
    assert not ModelVersion.objects.filter(pk=version.pk).exists()


# End to end, with a real worker


@pytest.mark.worker
def test_a_classifier_trains_through_the_form(worker, client, owner):
    put(owner, "train.csv")
    client.force_login(owner)
    resp = client.post(reverse("models_app:classifier-create"), form_data())
    assert resp.status_code == 302
    version = ModelVersion.objects.get(model__name="news")
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        version.refresh_from_db()
        if version.is_final:
            break
        time.sleep(0.5)
    assert version.status in (ModelStatus.TRAINED, ModelStatus.TRAINED_WITH_WARNING), (
        version.message,
        worker.output(),
    )
    body = text(client.get(urls_of(version)["version"]))
    assert len(re.findall(r'data-testid="per-label-row"', body)) == 3
    assert json_block(body, "confusion-data")["kind"] == "heatmap"
    partial = text(client.get(urls_of(version)["versions"]))
    assert "data-poll-done" in partial


# Bad data through the form: the job's outcome on the version page


def submit_upload(client, name: str, mode: str, train: tuple, test: tuple | None = None):
    """Create a classifier through the form from uploaded (file name, bytes) pairs."""
    data = form_data(
        name=name,
        mode=mode,
        training_uri="",
        training_file=SimpleUploadedFile(train[0], train[1], content_type="text/csv"),
    )
    if test is not None:
        data.update(
            test_source="GIVEN",
            test_file=SimpleUploadedFile(test[0], test[1], content_type="text/csv"),
        )
    resp = client.post(reverse("models_app:classifier-create"), data)
    assert resp.status_code == 302, field_error(text(resp), "training_uri")
    return ModelVersion.objects.get(model__name=name)


def shown_message(client, version) -> str:
    body = text(client.get(urls_of(version)["version"]))
    match = re.search(r'data-testid="version-message">(.*?)</div>', body, re.S)
    return re.sub(r"<[^>]+>", " ", match.group(1)) if match else ""


def test_every_bad_input_file_gets_its_outcome_through_the_form(client, owner, transactional_db):
    client.force_login(owner)
    versions = {}
    for i, name in enumerate({**cases.BAD_FILES, **cases.BAD_MULTI_LABEL}):
        train = (name, (BAD_INPUTS / name).read_bytes())
        if not train[1]:
            # An empty upload is refused by the form itself, on the file's field.
            data = form_data(
                name=f"bad-{i}",
                training_uri="",
                training_file=SimpleUploadedFile(name, b"", content_type="text/csv"),
            )
            body = text(client.post(reverse("models_app:classifier-create"), data))
            assert "file is empty" in field_error(body, "training_file"), name
            assert "Give an S3 URI" not in body
            assert not ModelVersion.objects.filter(model__name=f"bad-{i}").exists()
            continue
        versions[name] = submit_upload(client, f"bad-{i}", cases.bad_file_mode(name), train)
    run_queued_jobs()
    for name, version in versions.items():
        version.refresh_from_db()
        message = shown_message(client, version)
        if version.message:
            assert version.message in message, (name, message)
        cases.check_bad_file_outcome(name, version.status, message)


@pytest.mark.parametrize("rule_name", list(cases.RULES))
def test_each_training_data_rule_shows_its_message_on_the_version_page(
    client, owner, transactional_db, monkeypatch, rule_name
):
    rule = cases.RULES[rule_name]
    cases.lower_limits(monkeypatch, rule)
    client.force_login(owner)
    test = ("test.csv", rule.test) if rule.test is not None else None
    version = submit_upload(client, rule_name, rule.mode, ("train.csv", rule.train), test)
    run_queued_jobs()
    version.refresh_from_db()
    assert version.status == rule.status, version.message
    message = shown_message(client, version)
    for word in rule.words:
        assert word in message, (word, message)
