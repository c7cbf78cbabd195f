"""ImportModel's service and job, and encrypted artifacts: what a copy holds, who may make one,
and that a keyed model's files exist on disk only sealed."""

import random
from pathlib import Path

import django_rq
import pytest

from models_app.ml import artifacts as ml_artifacts
from models_app.ml.classifier import fit
from models_app.models import ModelKind, ModelStatus, ModelVersion
from models_app.services import artifacts, model_copy, resource_policies, serving, versions
from models_app.services.artifacts import (
    SEALED,
    artifact_load,
    artifact_unsealed,
    artifact_write,
    files_digest,
)
from tests import factories
from tests.conftest import run_queued_jobs
from webapp.accounts.models import AuditEvent
from webapp.accounts.services.keys import key_create, key_disable, key_enable
from webapp.accounts.services.tags import tags_of
from webapp.core import crypto, policies
from webapp.core.errors import ServiceError

TOPICS = {
    "weather": "rain sunny forecast cloudy storm wind temperature snow humid cold".split(),
    "sports": "football match goal team score league referee player coach stadium".split(),
    "cooking": "recipe oven flour bake sauce garlic simmer onion butter dinner".split(),
}
FILLER = "the a today really please about my some this that".split()
SAMPLE = ["goal team referee football match", "oven flour bake butter recipe"]


@pytest.fixture(scope="module")
def small_model():
    rng = random.Random(7)
    rows = []
    for i in range(40):
        for label, words in TOPICS.items():
            rows.append((label, " ".join(rng.sample(words, 4) + rng.sample(FILLER, 3)) + f" {i}"))
    return fit([t for _, t in rows], [label for label, _ in rows], mode="MULTI_CLASS")


@pytest.fixture(autouse=True)
def _local_artifacts(settings, tmp_path):
    settings.S3_ENDPOINT_URL = ""
    settings.DATA_ROOT = tmp_path
    serving.clear()
    yield
    serving.clear()


def trained(user, model, *, key=None, **fields):
    """A TRAINED classifier version whose model is written as training writes it."""
    version = factories.version(user, model_key=key, **fields)
    uri, sha256 = artifact_write(
        version, lambda folder: ml_artifacts.save_classifier(model, folder)
    )
    ModelVersion.objects.filter(pk=version.pk).update(artifact_uri=uri, artifact_sha256=sha256)
    version.refresh_from_db()
    return version


def account_of(user):
    return user.membership.account


def error_of(call) -> ServiceError:
    with pytest.raises(ServiceError) as excinfo:
        call()
    return excinfo.value


def share(owner, version, *principals):
    resource_policies.policy_put(
        account=account_of(owner),
        user=owner,
        resource_arn=version.arn,
        policy_text=policies.standard_policy(principals=list(principals), resource_arn=version.arn),
    )


def import_(user, source_arn, **kw):
    return model_copy.version_import(
        account=account_of(user), user=user, source_model_arn=source_arn, **kw
    )


def copy_now(django_capture_on_commit_callbacks, call):
    """Run an import request as the API does (commit, push) and then its job."""
    with django_capture_on_commit_callbacks(execute=True):
        version = call()
    run_queued_jobs()
    version.refresh_from_db()
    return version


def plain_bytes(version) -> list[bytes]:
    with artifact_unsealed(version) as folder:
        return [p.read_bytes() for p in folder.iterdir() if p.is_file()]


# Encrypted artifacts


def test_it_keeps_a_keyed_model_on_disk_only_sealed(owner, small_model):
    key = key_create(account=account_of(owner), user=owner)
    version = trained(owner, small_model, key=key)
    stored = sorted(p.name for p in Path(version.artifact_uri).iterdir())
    assert stored == [SEALED]
    sealed = (Path(version.artifact_uri) / SEALED).read_bytes()
    plain = plain_bytes(version)
    assert {"metadata.json", "model.json"} <= {p.name for p in _listing(version)}, (
        "the container holds the model's files"
    )
    for content in plain:
        # No file, nor any 64-byte stretch of one, appears in the container.
        for start in range(0, max(1, len(content) - 64), max(1, len(content) // 8)):
            assert content[start : start + 64] not in sealed
    assert bytes(version.data_key_wrapped)

    assert serving.get(version).classify(SAMPLE)[0]["Classes"][0]["Name"] == "sports"
    serving.clear()
    key_disable(account=account_of(owner), user=owner, key_id=key.key_id)
    refusal = error_of(lambda: serving.get(version))
    assert refusal.code == "ResourceUnavailableException" and key.arn in refusal.message
    refusal = error_of(lambda: artifact_load(version, lambda folder, verified: folder))
    assert refusal.code == "ResourceUnavailableException" and key.arn in refusal.message
    key_enable(account=account_of(owner), user=owner, key_id=key.key_id)
    assert serving.get(version).classify(SAMPLE)[1]["Classes"][0]["Name"] == "cooking"


def _listing(version):
    with artifact_unsealed(version) as folder:
        return [p.relative_to(folder) for p in folder.iterdir()]


def test_it_opens_a_keyed_model_in_a_private_folder_and_removes_it(owner, small_model):
    key = key_create(account=account_of(owner), user=owner)
    version = trained(owner, small_model, key=key)
    with artifact_unsealed(version) as folder:
        assert (folder.parent.stat().st_mode & 0o777) == 0o700
        assert ml_artifacts.load_classifier(folder, sha256=version.artifact_sha256)
    assert not folder.exists() and not folder.parent.exists()


def test_a_keyed_model_cut_short_leaves_no_plain_folder_and_is_refused(
    owner, small_model, monkeypatch, tmp_path
):
    # Small chunks, so the tar ends chunks before the container does: extraction alone would
    # succeed, and only the last chunk's check can tell the container was cut.
    monkeypatch.setattr(crypto, "FILE_CHUNK_BYTES", 4096)
    memory = tmp_path / "memory"
    memory.mkdir()
    monkeypatch.setattr(artifacts, "_MEMORY_FS", memory)
    key = key_create(account=account_of(owner), user=owner)
    version = trained(owner, small_model, key=key)
    with artifact_unsealed(version) as folder:
        assert folder.is_relative_to(memory)  # plain files on the memory-backed file system
    assert list(memory.iterdir()) == []
    path = Path(version.artifact_uri) / SEALED
    blob = path.read_bytes()
    body, chunk = len(blob) - 16, 4096 + 16
    assert body > 3 * chunk
    path.write_bytes(blob[: len(blob) - (body % chunk or chunk)])
    with pytest.raises(crypto.SealError), artifact_unsealed(version):
        pytest.fail("a cut-off container must not open")
    assert list(memory.iterdir()) == []
    with pytest.raises(crypto.SealError):
        artifact_load(version, lambda folder, verified: pytest.fail("nothing may be loaded"))
    assert list(memory.iterdir()) == []
    refusal = error_of(lambda: serving.get(version))
    assert refusal.code == "ResourceUnavailableException"
    assert str(tmp_path) not in refusal.message


def test_a_keyed_model_loads_verified_with_the_plain_models_predictions(owner, small_model):
    key = key_create(account=account_of(owner), user=owner)
    keyed = trained(owner, small_model, key=key)
    plain = trained(owner, small_model, name="news-plain")
    assert keyed.artifact_sha256 == plain.artifact_sha256

    def load(folder, verified):
        return verified, ml_artifacts.load_classifier(
            folder, sha256=keyed.artifact_sha256, verified=verified
        )

    verified, from_keyed = artifact_load(keyed, load)
    assert verified is True
    was_verified, from_plain = artifact_load(plain, load)
    assert was_verified is False
    texts = SAMPLE + ["storm wind forecast cold", "nothing in particular"]
    assert from_keyed.predict_scores(texts) == from_plain.predict_scores(texts)
    assert from_keyed.predict(texts) == small_model.predict(texts)


def test_a_keyed_classifier_loads_from_memory_as_from_its_folder(
    owner, small_model, monkeypatch, tmp_path
):
    memory = tmp_path / "memory"
    memory.mkdir()
    monkeypatch.setattr(artifacts, "_MEMORY_FS", memory)
    key = key_create(account=account_of(owner), user=owner)
    keyed = trained(owner, small_model, key=key)
    given = []

    def load(files, verified):
        given.append((files, verified))
        return ml_artifacts.load_classifier(files, sha256=keyed.artifact_sha256, verified=verified)

    from_memory = artifact_load(keyed, load)
    [(files, verified)] = given
    assert isinstance(files, ml_artifacts.ModelFiles) and verified is True
    assert set(files.names()) == {p.name for p in _listing(keyed)}
    assert list(memory.iterdir()) == []  # no plain file was written to be loaded
    with artifact_unsealed(keyed) as folder:
        from_folder = ml_artifacts.load_classifier(folder, sha256=keyed.artifact_sha256)
        for name in files.names():
            assert files.read_bytes(name) == (folder / name).read_bytes()
    texts = SAMPLE + ["storm wind forecast cold", "nothing in particular"]
    assert from_memory.predict_scores(texts) == from_folder.predict_scores(texts)
    assert from_memory.predict(texts) == small_model.predict(texts)
    serving.clear()
    answer = serving.get(keyed).classify(SAMPLE)
    assert [a["Classes"][0]["Name"] for a in answer] == ["sports", "cooking"]


def test_a_keyed_recognizer_still_loads_from_a_private_folder(owner):
    key = key_create(account=account_of(owner), user=owner)
    version = factories.version(owner, kind=ModelKind.RECOGNIZER, model_key=key)

    def save(folder):
        (folder / "ner").mkdir(parents=True)
        (folder / "ner" / "model").write_bytes(b"weights")
        return "0" * 64

    uri, _ = artifact_write(version, save)
    ModelVersion.objects.filter(pk=version.pk).update(artifact_uri=uri, artifact_sha256="0" * 64)
    version.refresh_from_db()

    def load(folder, verified):
        assert isinstance(folder, Path) and verified is True
        return (folder / "ner" / "model").read_bytes(), folder

    content, folder = artifact_load(version, load)
    assert content == b"weights" and not folder.exists()


@pytest.mark.parametrize("cut", ["inside the tar", "after the tar", "one byte"])
def test_a_keyed_classifier_cut_short_loads_nothing_from_memory(
    owner, small_model, monkeypatch, cut
):
    # Small chunks, so the tar ends chunks before the container does and a cut after it leaves
    # a complete tar of authentic chunks: only the last chunk's check can refuse it.
    monkeypatch.setattr(crypto, "FILE_CHUNK_BYTES", 4096)
    key = key_create(account=account_of(owner), user=owner)
    version = trained(owner, small_model, key=key)
    path = Path(version.artifact_uri) / SEALED
    blob = path.read_bytes()
    header, chunk = 16, 4096 + 16
    chunks = -(-(len(blob) - header) // chunk)
    keep = {
        "inside the tar": header + chunk + 100,
        "after the tar": header + (chunks - 1) * chunk,  # the last chunk dropped whole
        "one byte": len(blob) - 1,
    }[cut]
    path.write_bytes(blob[:keep])
    with pytest.raises(crypto.SealError):
        artifacts.artifact_in_memory(version)
    with pytest.raises(crypto.SealError):
        artifact_load(version, lambda files, verified: pytest.fail("nothing may be loaded"))
    refusal = error_of(lambda: serving.get(version))
    assert refusal.code == "ResourceUnavailableException"


def test_a_disabled_key_stops_a_loaded_model_answering(owner, small_model):
    key = key_create(account=account_of(owner), user=owner)
    version = trained(owner, small_model, key=key)
    serving.get(version)  # loaded and kept in this process
    key_disable(account=account_of(owner), user=owner, key_id=key.key_id)
    assert error_of(lambda: serving.get(version)).code == "ResourceUnavailableException"


# ImportModel: the request


def test_it_imports_a_version_of_the_callers_own_account(
    owner, small_model, django_capture_on_commit_callbacks, transactional_db
):
    source = trained(
        owner,
        small_model,
        name="news",
        version_name="v1",
        metrics={"F1Score": 0.9},
        number_of_labels=3,
        data_sha256="d" * 64,
        input_data_config={"S3Uri": "s3://data/train.csv"},
        output_uri="s3://out/x/output/output.tar.gz",
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        copy = import_(owner, source.arn, version_name="copy", tags=[{"Key": "t", "Value": "1"}])
    assert copy.status == ModelStatus.SUBMITTED and copy.source_model_arn == source.arn
    assert copy.model == source.model  # ModelName defaults to the source's: a new version of it
    assert copy.metrics == {"F1Score": 0.9} and copy.number_of_labels == 3
    assert copy.input_data_config == {} and copy.output_uri == "" and copy.data_sha256 == ""
    assert tags_of(account_of(owner), copy.arn) == [{"Key": "t", "Value": "1"}]
    for callback in callbacks:
        callback()
    assert django_rq.get_queue("default").count == 1  # never behind long trainings
    run_queued_jobs()
    copy.refresh_from_db()
    assert copy.status == ModelStatus.TRAINED, copy.message
    assert copy.artifact_sha256 == source.artifact_sha256
    assert copy.artifact_uri != source.artifact_uri
    assert serving.get(copy).classify(SAMPLE) == serving.get(source).classify(SAMPLE)


def test_another_accounts_version_needs_its_policy(
    owner, outsider, small_model, django_capture_on_commit_callbacks, transactional_db
):
    source = trained(owner, small_model, name="news", version_name="v1")
    missing = source.arn.replace("/version/v1", "/version/v9")
    refused = error_of(lambda: import_(outsider, source.arn))
    absent = error_of(lambda: import_(outsider, missing))
    assert refused.code == absent.code == "AccessDeniedException"
    assert refused.message.replace(source.arn, "X") == absent.message.replace(missing, "X")
    # The owner's log shows the refused attempt on its version, not the one on no version.
    a_log = AuditEvent.objects.filter(account=account_of(owner), operation="ImportModel")
    assert [(e.resource_arn, e.outcome, e.actor_account_id) for e in a_log] == [
        (source.arn, "Refused", account_of(outsider).account_id)
    ]
    b_log = AuditEvent.objects.filter(account=account_of(outsider), operation="ImportModel")
    assert sorted(e.resource_arn for e in b_log) == sorted([source.arn, missing])

    share(owner, source, account_of(outsider).account_id)
    copy = copy_now(
        django_capture_on_commit_callbacks, lambda: import_(outsider, source.arn, model_name="mine")
    )
    assert copy.account == account_of(outsider) and copy.model.name == "mine"
    assert copy.status == ModelStatus.TRAINED, copy.message
    event = AuditEvent.objects.filter(account=account_of(owner), outcome="Allowed").get()
    assert event.actor_user == outsider.username and copy.arn in event.detail

    # The copy is independent: the source and its policy can go.
    versions.version_delete(account=account_of(owner), kind=ModelKind.CLASSIFIER, arn=source.arn)
    serving.clear()
    assert serving.get(copy).classify(SAMPLE)[0]["Classes"][0]["Name"] == "sports"


def test_an_import_is_checked(owner, outsider, small_model, transactional_db):
    source = trained(owner, small_model, name="news", version_name="v1")
    training = factories.version(owner, name="news", version_name="v2", status="TRAINING")
    assert error_of(lambda: import_(owner, training.arn)).code == "ResourceUnavailableException"
    error = error_of(lambda: import_(owner, source.arn, version_name="v1"))
    assert error.code == "ResourceInUseException" and error.field == "VersionName"
    many = [{"Key": f"k{i}", "Value": ""} for i in range(51)]
    assert error_of(lambda: import_(owner, source.arn, tags=many)).code == "TooManyTagsException"
    other_key = key_create(account=account_of(outsider), user=outsider)
    error = error_of(lambda: import_(owner, source.arn, model_kms_key_id=other_key.arn))
    assert error.code == "KmsKeyValidationException" and error.field == "ModelKmsKeyId"
    mine = key_create(account=account_of(owner), user=owner)
    key_disable(account=account_of(owner), user=owner, key_id=mine.key_id)
    error = error_of(lambda: import_(owner, source.arn, model_kms_key_id=mine.key_id))
    assert error.code == "KmsKeyValidationException"
    gone = source.arn.replace("/version/v1", "/version/v7")
    assert error_of(lambda: import_(owner, gone)).code == "ResourceNotFoundException"
    assert not ModelVersion.objects.filter(source_model_arn=source.arn).exists()
    outcomes = AuditEvent.objects.filter(account=account_of(owner), operation="ImportModel")
    assert {e.outcome for e in outcomes} == {"Failed", "Refused"} and outcomes.count() == 6


def test_keys_on_both_sides(
    owner, outsider, small_model, django_capture_on_commit_callbacks, transactional_db
):
    a_key = key_create(account=account_of(owner), user=owner)
    b_key = key_create(account=account_of(outsider), user=outsider)
    source = trained(owner, small_model, key=a_key, name="news", version_name="v1")
    share(owner, source, account_of(outsider).account_id)
    copy = copy_now(
        django_capture_on_commit_callbacks,
        lambda: import_(outsider, source.arn, model_kms_key_id=b_key.arn),
    )
    assert copy.status == ModelStatus.TRAINED, copy.message
    assert copy.model_key == b_key and copy.model_kms_key_id == b_key.arn
    assert bytes(copy.data_key_wrapped) != bytes(source.data_key_wrapped)
    with artifact_unsealed(source) as a, artifact_unsealed(copy) as b:
        assert files_digest(a) == files_digest(b)
    # Each copy answers to its own account's key only.
    key_disable(account=account_of(owner), user=owner, key_id=a_key.key_id)
    serving.clear()
    assert serving.get(copy).classify(SAMPLE)[0]["Classes"][0]["Name"] == "sports"

    # A plain copy of a keyed source is plain; a disabled source key ends the import IN_ERROR.
    late = copy_now(
        django_capture_on_commit_callbacks, lambda: import_(outsider, source.arn, version_name="b")
    )
    assert late.status == ModelStatus.IN_ERROR
    assert "key" in late.message and "is disabled" in late.message
    assert a_key.arn not in late.message
    key_enable(account=account_of(owner), user=owner, key_id=a_key.key_id)
    plain = copy_now(
        django_capture_on_commit_callbacks, lambda: import_(outsider, source.arn, version_name="c")
    )
    assert plain.status == ModelStatus.TRAINED and plain.model_key is None
    assert sorted(p.name for p in Path(plain.artifact_uri).iterdir()) != [SEALED]


def test_a_source_deleted_before_the_copy_ends_in_error(
    owner, small_model, django_capture_on_commit_callbacks, transactional_db
):
    source = trained(owner, small_model, name="news", version_name="v1")
    with django_capture_on_commit_callbacks(execute=True):
        copy = import_(owner, source.arn, version_name="copy")
    versions.version_delete(account=account_of(owner), kind=ModelKind.CLASSIFIER, arn=source.arn)
    run_queued_jobs()
    copy.refresh_from_db()
    assert copy.status == ModelStatus.IN_ERROR and "no longer exists" in copy.message


def test_an_import_can_be_stopped(
    owner, small_model, django_capture_on_commit_callbacks, transactional_db
):
    source = trained(owner, small_model, name="news", version_name="v1")
    with django_capture_on_commit_callbacks(execute=True):
        copy = import_(owner, source.arn, version_name="copy")
    versions.version_stop(account=account_of(owner), kind=ModelKind.CLASSIFIER, arn=copy.arn)
    run_queued_jobs()
    copy.refresh_from_db()
    assert copy.status == ModelStatus.STOPPED


def test_create_checks_model_and_volume_keys(owner, outsider, transactional_db):
    other = key_create(account=account_of(outsider), user=outsider)
    for member in ("model_kms_key_id", "volume_kms_key_id"):
        error = error_of(
            lambda member=member: versions.check_keys(account_of(owner), **{member: other.key_id})
        )
        assert error.code == "KmsKeyValidationException"
    mine = key_create(account=account_of(owner), user=owner)
    checked = versions.check_keys(account_of(owner), model_kms_key_id=mine.arn)
    assert checked["model_key"] == mine and checked["model_kms_key_id"] == mine.arn
    assert checked["volume_key"] is None and checked["volume_kms_key_id"] == ""
