"""Asynchronous analysis jobs through boto3: input formats, output, stop, retries, tenancy."""

import io
import json
import tarfile
from datetime import timedelta

import django_rq
import pytest
from botocore.exceptions import ClientError
from django.utils import timezone
from rq import SimpleWorker

from models_app.models import AnalysisJob, AnalysisTask, ModelKind, ModelStatus, TaskRole
from models_app.services import analysis_jobs
from tests import factories
from tests.conftest import DATA, run_queued_jobs
from tests.trained import role, trained
from webapp.core import background, storage
from webapp.core.background import wait_for

SENTENCES = [
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn",
    "BRUSSELS 1996-08-22",
    "The European Commission said on Thursday it disagreed with German advice .",
    "Germany 's representative to the European Union 's veterinary committee Werner Zwingmann",
    "Fischler proposed EU-wide measures after reports from Britain and France .",
    "Rabinovich is winding up his term as ambassador .",
]


def recognizer(client, user, store, version_name="v1"):
    return trained(
        ModelKind.RECOGNIZER, client, user, store, name="people", version_name=version_name
    )


def start_entities(client, user, version, uri, *, input_format="ONE_DOC_PER_LINE", **extra):
    return client.start_entities_detection_job(
        InputDataConfig={"S3Uri": uri, "InputFormat": input_format},
        OutputDataConfig={"S3Uri": "s3://output/jobs/"},
        DataAccessRoleArn=role(user),
        EntityRecognizerArn=version.arn,
        LanguageCode="en",
        **extra,
    )


def describe(client, job_id):
    return client.describe_entities_detection_job(JobId=job_id)["EntitiesDetectionJobProperties"]


def output_records(user, props) -> list[dict]:
    uri = storage.parse_uri(props["OutputDataConfig"]["S3Uri"], field="x")
    with storage.open_read(user.membership.account.account_id, uri) as handle:
        with tarfile.open(fileobj=io.BytesIO(handle.read())) as tar:
            assert tar.getnames() == ["predictions.jsonl"]
            lines = tar.extractfile("predictions.jsonl").read().decode().splitlines()
    return [json.loads(line) for line in lines]


def error_of(call):
    with pytest.raises(ClientError) as excinfo:
        call()
    return excinfo.value.response["Error"]


def run_split_only(monkeypatch):
    """Run the job's split task alone (a worker would go on to take the chunks itself)."""
    with monkeypatch.context() as patch:
        patch.setattr(analysis_jobs, "_claim_next", lambda job_pk: None)
        queue = django_rq.get_queue("inference")
        SimpleWorker([queue], connection=queue.connection).work(burst=True, max_jobs=1)


def test_a_prefix_of_files_one_document_per_line(api, owner, store, settings, transactional_db):
    settings.ANALYSIS_CHUNK_DOCUMENTS = 4  # several chunks, so the merge order is tested too
    client = api(owner)
    version = recognizer(client, owner, store)
    store(owner, "in/lines/a.txt", ("\n".join(SENTENCES[:5]) + "\n").encode())
    # CRLF line ends, a blank line (no document) and a line that is not UTF-8.
    b = f"{SENTENCES[5]}\r\n\r\n\xff\xfe broken\r\n{SENTENCES[6]}".encode("latin-1")
    store(owner, "in/lines/b.txt", b)
    store(owner, "in/other.txt", b"not part of the prefix\n")
    started = start_entities(
        client,
        owner,
        version,
        "s3://data/in/lines/",
        JobName="lines",
        Tags=[{"Key": "k", "Value": "v"}],
    )
    assert started["JobStatus"] == "SUBMITTED"
    assert started["JobArn"].endswith(f":entities-detection-job/{started['JobId']}")
    run_queued_jobs()
    props = describe(client, started["JobId"])
    assert props["JobStatus"] == "COMPLETED", props.get("Message")
    account = owner.membership.account.account_id
    assert props["OutputDataConfig"]["S3Uri"] == (
        f"s3://output/jobs/{account}-NER-{started['JobId']}/output/output.tar.gz"
    )
    assert "1 of 8 documents" in props["Message"]
    records = output_records(owner, props)
    assert [(r["File"], r["Line"]) for r in records] == [
        ("a.txt", 0),
        ("a.txt", 1),
        ("a.txt", 2),
        ("a.txt", 3),
        ("a.txt", 4),
        ("b.txt", 0),
        ("b.txt", 2),
        ("b.txt", 3),
    ]
    texts = SENTENCES[:6] + [None, SENTENCES[6]]
    for record, text in zip(records, texts, strict=True):
        if text is None:
            assert record["ErrorCode"] == "UNSUPPORTED_ENCODING" and "Entities" not in record
            continue
        for e in record["Entities"]:
            assert text[e["BeginOffset"] : e["EndOffset"]] == e["Text"]
    assert any(r.get("Entities") for r in records)
    job = AnalysisJob.objects.get(job_id=started["JobId"])
    assert job.documents_total == 8 and job.documents_done == 7 and job.documents_failed == 1
    assert job.tasks.filter(role=TaskRole.CHUNK).count() == 2  # the second spans both files
    # The parts are cleaned up; only the output stays.
    found = storage.list_files(account, storage.S3Uri("output", "jobs/"))
    assert [uri.key.rsplit("/", 1)[-1] for uri, _ in found] == ["output.tar.gz"]
    assert client.list_tags_for_resource(ResourceArn=started["JobArn"])["Tags"] == [
        {"Key": "k", "Value": "v"}
    ]


def test_one_document_per_file(api, owner, store, transactional_db):
    client = api(owner)
    version = recognizer(client, owner, store)
    for i, text in enumerate(SENTENCES[:4]):
        store(owner, f"in/files/doc-{i}.txt", f"{text}\nsecond line of the same document".encode())
    store(owner, "in/files/doc-9-empty.txt", b"")
    started = start_entities(
        client, owner, version, "s3://data/in/files", input_format="ONE_DOC_PER_FILE"
    )
    run_queued_jobs()
    props = describe(client, started["JobId"])
    assert props["JobStatus"] == "COMPLETED"
    records = output_records(owner, props)
    assert [r["File"] for r in records] == [f"doc-{i}.txt" for i in range(4)] + ["doc-9-empty.txt"]
    assert all("Line" not in r for r in records)
    assert all("Entities" in r for r in records[:4])
    assert records[4]["ErrorCode"] == "EMPTY_DOCUMENT"


def test_stopping_a_job(api, owner, store, settings, monkeypatch, transactional_db):
    settings.ANALYSIS_CHUNK_DOCUMENTS = 2
    client = api(owner)
    version = recognizer(client, owner, store)
    uri = store(owner, "in/stop.txt", "\n".join(SENTENCES).encode())
    # Stopped while it waits in the queue: STOPPED at once, and it never runs.
    queued = start_entities(client, owner, version, uri)["JobId"]
    answer = client.stop_entities_detection_job(JobId=queued)
    assert answer == {
        "JobId": queued,
        "JobStatus": "STOPPED",
        "ResponseMetadata": answer["ResponseMetadata"],
    }
    run_queued_jobs()
    assert describe(client, queued)["JobStatus"] == "STOPPED"
    assert not storage.list_files(
        owner.membership.account.account_id, storage.S3Uri("output", "jobs/")
    )

    # Stopped while in progress (split done, chunks waiting): no chunk runs after that.
    running = start_entities(client, owner, version, uri)["JobId"]
    run_split_only(monkeypatch)
    assert describe(client, running)["JobStatus"] == "IN_PROGRESS"
    assert client.stop_entities_detection_job(JobId=running)["JobStatus"] == "STOPPED"
    run_queued_jobs()
    job = AnalysisJob.objects.get(job_id=running)
    assert job.status == "STOPPED" and job.documents_done == 0
    error = error_of(lambda: client.stop_entities_detection_job(JobId="0" * 32))
    assert error["Code"] == "JobNotFoundException"

    # Stopped while a worker is on a chunk: STOP_REQUESTED until that worker notices.
    busy = start_entities(client, owner, version, uri)["JobId"]
    run_split_only(monkeypatch)
    first = AnalysisTask.objects.filter(job__job_id=busy, role=TaskRole.CHUNK).order_by("index")[0]
    claimed = analysis_jobs._claim(first.pk)
    assert client.stop_entities_detection_job(JobId=busy)["JobStatus"] == "STOP_REQUESTED"
    analysis_jobs._execute(claimed)  # the worker's next look at the job stops it
    assert describe(client, busy)["JobStatus"] == "STOPPED"
    assert AnalysisJob.objects.get(job_id=busy).documents_done == 0

    done = start_entities(client, owner, version, uri)["JobId"]
    run_queued_jobs()
    error = error_of(lambda: client.stop_entities_detection_job(JobId=done))
    assert error["Code"] == "InvalidRequestException" and "COMPLETED" in error["Message"]
    listed = client.list_entities_detection_jobs(Filter={"JobStatus": "STOPPED"})
    stopped = {p["JobId"] for p in listed["EntitiesDetectionJobPropertiesList"]}
    assert stopped == {queued, running, busy}


def test_a_dead_workers_chunk_is_retried_not_failed(
    api, owner, store, settings, monkeypatch, transactional_db
):
    settings.ANALYSIS_CHUNK_DOCUMENTS = 3
    client = api(owner)
    version = recognizer(client, owner, store)
    uri = store(owner, "in/retry.txt", "\n".join(SENTENCES).encode())
    job_id = start_entities(client, owner, version, uri)["JobId"]
    run_split_only(monkeypatch)  # three chunks wait
    chunk = AnalysisTask.objects.get(job__job_id=job_id, role=TaskRole.CHUNK, index=1)
    # A worker took it and was killed: RUNNING, silent for an hour, its RQ job gone.
    AnalysisTask.objects.filter(pk=chunk.pk).update(
        status="RUNNING",
        attempts=1,
        documents=2,
        heartbeat_at=timezone.now() - timedelta(hours=1),
        rq_job_id=background.new_job_id(),
    )
    AnalysisJob.objects.filter(job_id=job_id).update(documents_done=2)
    assert background.reconcile() == 1
    chunk.refresh_from_db()
    assert chunk.status == "PENDING" and "Retrying" in chunk.message
    run_queued_jobs()
    props = describe(client, job_id)
    assert props["JobStatus"] == "COMPLETED", props.get("Message")
    assert [r["Line"] for r in output_records(owner, props)] == list(range(len(SENTENCES)))
    job = AnalysisJob.objects.get(job_id=job_id)
    assert job.documents_done == len(SENTENCES)  # the dead attempt's count was undone
    assert AnalysisTask.objects.get(pk=chunk.pk).attempts == 2


def test_a_chunk_that_keeps_dying_fails_the_job_and_it_never_hangs(
    api, owner, store, settings, monkeypatch, transactional_db
):
    settings.ANALYSIS_CHUNK_DOCUMENTS = 3
    client = api(owner)
    version = recognizer(client, owner, store)
    uri = store(owner, "in/doomed.txt", "\n".join(SENTENCES).encode())
    job_id = start_entities(client, owner, version, uri)["JobId"]
    run_split_only(monkeypatch)
    stale = timezone.now() - timedelta(hours=1)
    AnalysisTask.objects.filter(job__job_id=job_id, index=0, role=TaskRole.CHUNK).update(
        status="RUNNING", attempts=settings.ANALYSIS_TASK_ATTEMPTS, heartbeat_at=stale
    )
    background.reconcile()
    props = describe(client, job_id)
    assert props["JobStatus"] == "FAILED"
    assert "Part 1 of the input failed 3 times" in props["Message"]
    run_queued_jobs()  # the other chunks' jobs find nothing to do
    assert describe(client, job_id)["JobStatus"] == "FAILED"
    assert not AnalysisTask.objects.filter(job__job_id=job_id, status__in=("PENDING", "RUNNING"))


def test_start_is_checked_and_idempotent(api, owner, store, transactional_db):
    client = api(owner)
    version = recognizer(client, owner, store)
    uri = store(owner, "in/x.txt", b"Peter Blackburn\n")
    first = start_entities(client, owner, version, uri, ClientRequestToken="tok-1")["JobId"]
    assert start_entities(client, owner, version, uri, ClientRequestToken="tok-1")["JobId"] == first
    assert AnalysisJob.objects.count() == 1
    cases = [
        (
            lambda: start_entities(client, owner, version, "s3://data/nothing/"),
            "InvalidRequestException",
            "No objects",
        ),
        (
            lambda: client.start_entities_detection_job(
                InputDataConfig={"S3Uri": uri},
                OutputDataConfig={"S3Uri": "s3://output/"},
                DataAccessRoleArn=role(owner),
                LanguageCode="en",
            ),
            "InvalidRequestException",
            "custom entity recognizers",
        ),
        (
            lambda: client.start_entities_detection_job(
                InputDataConfig={"S3Uri": uri},
                OutputDataConfig={"S3Uri": "s3://output/"},
                DataAccessRoleArn=role(owner),
                EntityRecognizerArn=version.arn,
                LanguageCode="de",
            ),
            "InvalidRequestException",
            "'en'",
        ),
    ]
    training = factories.version(owner, name="busy", kind=ModelKind.RECOGNIZER)
    training.status = ModelStatus.TRAINING
    training.save()
    cases.append(
        (
            lambda: start_entities(client, owner, training, uri),
            "ResourceUnavailableException",
            "TRAINING",
        )
    )
    for call, code, words in cases:
        error = error_of(call)
        assert error["Code"] == code and words in error["Message"], error
    assert AnalysisJob.objects.count() == 1


def test_another_account_sees_no_job(api, owner, outsider, store, transactional_db):
    client = api(owner)
    version = recognizer(client, owner, store)
    uri = store(owner, "in/x.txt", b"Peter Blackburn\n")
    started = start_entities(client, owner, version, uri)
    other = api(outsider)
    for call in (
        lambda: other.describe_entities_detection_job(JobId=started["JobId"]),
        lambda: other.stop_entities_detection_job(JobId=started["JobId"]),
        lambda: other.describe_document_classification_job(JobId=started["JobId"]),
    ):
        assert error_of(call)["Code"] == "JobNotFoundException"
    error = error_of(lambda: other.list_tags_for_resource(ResourceArn=started["JobArn"]))
    assert error["Code"] == "ResourceNotFoundException"
    assert other.list_entities_detection_jobs()["EntitiesDetectionJobPropertiesList"] == []
    # Nor can it run the owner's model or read the owner's store.
    error = error_of(lambda: start_entities(other, outsider, version, uri))
    assert error["Code"] in ("ResourceNotFoundException", "InvalidRequestException")
    assert describe(client, started["JobId"])["JobStatus"] == "SUBMITTED"


@pytest.mark.worker
def test_a_killed_worker_does_not_lose_the_job(api, owner, store, start_worker):
    """A real worker is killed mid-chunk; another one retries that chunk and completes the job."""
    client = api(owner)
    version = recognizer(client, owner, store)
    lines = (DATA / "wnut17" / "train.txt").read_text(encoding="utf-8").splitlines()
    lines = ([line for line in lines if line.strip()] * 2)[:2400]
    uri = store(owner, "in/tweets.txt", ("\n".join(lines) + "\n").encode())
    fast = {
        "JOB_HEARTBEAT_SECONDS": 1,
        "JOB_STALE_SECONDS": 4,
        "RECONCILE_INTERVAL_SECONDS": 1,
        "ANALYSIS_CHUNK_DOCUMENTS": 1200,
    }
    doomed = start_worker(**fast)
    job_id = start_entities(client, owner, version, uri)["JobId"]
    running = AnalysisTask.objects.filter(
        job__job_id=job_id, role=TaskRole.CHUNK, status="RUNNING", documents__gt=0
    )
    assert wait_for(running.exists, 90), doomed.output()
    doomed.kill()
    survivor = start_worker(**fast)
    assert wait_for(lambda: describe(client, job_id)["JobStatus"] == "COMPLETED", 120), (
        survivor.output()
    )
    records = output_records(owner, describe(client, job_id))
    assert [r["Line"] for r in records] == list(range(len(lines)))
    job = AnalysisJob.objects.get(job_id=job_id)
    assert job.documents_done == len(lines) and job.documents_failed == 0
    assert job.tasks.filter(attempts__gte=2).exists()


def test_a_classification_job_in_both_input_formats(api, owner, store, settings, transactional_db):
    settings.ANALYSIS_CHUNK_DOCUMENTS = 3
    client = api(owner)
    version = trained(ModelKind.CLASSIFIER, client, owner, store, name="intents", version_name="v1")
    texts = ["how do i reset my password", "where is my parcel", "cancel my order please"]
    store(owner, "cls/lines/1.txt", ("\n".join(texts) + "\n").encode())
    store(owner, "cls/lines/2.txt", ("\n".join(reversed(texts))).encode())
    for i, text in enumerate(texts):
        store(owner, f"cls/files/doc-{i}.txt", text.encode())
    ids = {}
    for fmt, prefix in (("ONE_DOC_PER_LINE", "lines/"), ("ONE_DOC_PER_FILE", "files/")):
        ids[fmt] = client.start_document_classification_job(
            JobName=f"cls-{fmt.lower().replace('_', '-')}",
            DocumentClassifierArn=version.arn,
            InputDataConfig={"S3Uri": f"s3://data/cls/{prefix}", "InputFormat": fmt},
            OutputDataConfig={"S3Uri": "s3://output/"},
            DataAccessRoleArn=role(owner),
        )["JobId"]
    run_queued_jobs()
    account = owner.membership.account.account_id
    for fmt, job_id in ids.items():
        props = client.describe_document_classification_job(JobId=job_id)[
            "DocumentClassificationJobProperties"
        ]
        assert props["JobStatus"] == "COMPLETED", props.get("Message")
        assert props["DocumentClassifierArn"] == version.arn
        assert props["OutputDataConfig"]["S3Uri"] == (
            f"s3://output/{account}-CLN-{job_id}/output/output.tar.gz"
        )
        records = output_records(owner, props)
        for record in records:
            classes = record["Classes"]
            assert classes and classes[0]["Score"] >= classes[-1]["Score"]
        if fmt == "ONE_DOC_PER_LINE":
            # Comprehend writes the zero-based line number of classification output as a string.
            assert [(r["File"], r["Line"]) for r in records] == [
                ("1.txt", "0"), ("1.txt", "1"), ("1.txt", "2"),
                ("2.txt", "0"), ("2.txt", "1"), ("2.txt", "2"),
            ]  # fmt: skip
        else:
            assert [r["File"] for r in records] == ["doc-0.txt", "doc-1.txt", "doc-2.txt"]
            assert all("Line" not in r for r in records)
    listed = client.list_document_classification_jobs(Filter={"JobStatus": "COMPLETED"})
    assert {p["JobId"] for p in listed["DocumentClassificationJobPropertiesList"]} == set(
        ids.values()
    )
    named = client.list_document_classification_jobs(Filter={"JobName": "cls-one-doc-per-file"})
    assert [p["JobId"] for p in named["DocumentClassificationJobPropertiesList"]] == [
        ids["ONE_DOC_PER_FILE"]
    ]
    error = error_of(
        lambda: client.list_document_classification_jobs(
            Filter={"JobName": "x", "JobStatus": "COMPLETED"}
        )
    )
    assert error["Code"] == "InvalidFilterException"
    assert client.list_entities_detection_jobs()["EntitiesDetectionJobPropertiesList"] == []
    error = error_of(lambda: client.describe_document_classification_job(JobId="f" * 32))
    assert error["Code"] == "JobNotFoundException"
