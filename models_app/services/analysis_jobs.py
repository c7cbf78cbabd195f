"""Asynchronous analysis jobs: start, stop, and the tasks that split, analyse and merge.

A job's work is a set of AnalysisTask rows: one SPLIT task plans chunks of the input (by lines or
by files), one CHUNK task per slice writes its results to a part file, and a MERGE task joins the
parts in input order into Comprehend's output.tar.gz. Every task has its own RQ job, so any worker
on any machine can take one, and each is claimed with a conditional update, so the database (not
RQ) decides who works on what. A worker that finishes a task takes the job's next pending one
with the model it already loaded. A task whose worker died is retried (up to
ANALYSIS_TASK_ATTEMPTS times) by the reconciler, without failing the job.
"""

import contextlib
import io
import json
import logging
import re
import tarfile
import tempfile
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from models_app import kinds, selectors
from models_app.models import (
    AnalysisJob,
    AnalysisTask,
    TaskRole,
    TaskStatus,
)
from models_app.models import JobStatus as S
from models_app.services import serving
from models_app.services.classifiers import check_output_room
from models_app.services.endpoints import flywheel_version_to_serve, version_to_serve
from webapp.accounts.services.tags import tags_set
from webapp.core import arns, background, storage
from webapp.core.errors import ServiceError, invalid_request, validation_error
from webapp.core.validation import check_client_token, check_tags

log = logging.getLogger(__name__)

INPUT_FORMATS = ("ONE_DOC_PER_LINE", "ONE_DOC_PER_FILE")
# Comprehend's quotas for plain-text input to custom analysis jobs.
MAX_DOCUMENTS = 1_000_000
MAX_CORPUS_BYTES = 5 * 1024**3
OUTPUT_MEMBER = "predictions.jsonl"
# A worker keeps taking a job's pending tasks for at most this long, well inside RQ's timeout.
STEAL_SECONDS = 600
_JOB_NAME_RE = re.compile(r"^[\w\s.:/=+\-%@]*$")
_EOL = re.compile(rb"\r\n|\r|\n")


def job_transition(pk: int, to: str, **fields) -> bool:
    """Move a job to `to` if its current status allows it; False if someone else won."""
    if to in S.FINAL:
        fields.setdefault("end_time", timezone.now())
    return background.transition(AnalysisJob, pk, to=to, allowed_from=S.ALLOWED_FROM[to], **fields)


# Starting, describing and stopping.


def _check_name(value) -> str:
    if value in (None, ""):
        return ""
    if not isinstance(value, str) or len(value) > 256 or not _JOB_NAME_RE.match(value):
        raise validation_error(
            f"Value '{value}' at 'jobName' failed to satisfy constraint: at most 256 letters, "
            "digits, spaces and the characters _ . : / = + - % @.",
            field="JobName",
        )
    return value


def _check_input(account, config) -> dict:
    if not isinstance(config, dict) or not config.get("S3Uri"):
        raise validation_error("InputDataConfig.S3Uri is required.", field="InputDataConfig.S3Uri")
    if config.get("DocumentReaderConfig"):
        raise invalid_request(
            "Textwheel analyses plain-text (UTF-8) documents only; leave out DocumentReaderConfig.",
            field="InputDataConfig.DocumentReaderConfig",
        )
    input_format = config.get("InputFormat") or "ONE_DOC_PER_LINE"
    if input_format not in INPUT_FORMATS:
        raise validation_error(
            f"InputDataConfig.InputFormat must be one of {', '.join(INPUT_FORMATS)}.",
            field="InputDataConfig.InputFormat",
        )
    uri = storage.parse_uri(config["S3Uri"], field="InputDataConfig.S3Uri")
    found = storage.list_files(account.account_id, uri)
    if not found:
        raise invalid_request(
            f"No objects found at {uri} (InputDataConfig.S3Uri).", field="InputDataConfig.S3Uri"
        )
    if input_format == "ONE_DOC_PER_FILE" and len(found) > MAX_DOCUMENTS:
        raise invalid_request(f"A job can analyse at most {MAX_DOCUMENTS:,} files.")
    if sum(size for _, size in found) > MAX_CORPUS_BYTES:
        raise invalid_request("The input is larger than 5 GB, the most one job can analyse.")
    return {"S3Uri": str(uri), "InputFormat": input_format}


def _check_output(account, config) -> tuple[dict, storage.S3Uri]:
    if not isinstance(config, dict) or not config.get("S3Uri"):
        raise validation_error(
            "OutputDataConfig.S3Uri is required.", field="OutputDataConfig.S3Uri"
        )
    # The job writes below this location: an existing object there would fail it at the end.
    uri = storage.check_output_location(
        account.account_id, config["S3Uri"], field="OutputDataConfig.S3Uri"
    )
    check_output_room(account.account_id, uri, AnalysisJob._meta.get_field("output_uri").max_length)
    clean = {"S3Uri": str(uri)}
    if config.get("KmsKeyId"):
        clean["KmsKeyId"] = config["KmsKeyId"]
    return clean, uri


def job_start(
    *,
    account,
    kind: str,
    job_name=None,
    model_arn=None,
    flywheel_arn=None,
    input_data_config,
    output_data_config,
    data_access_role_arn,
    language_code=None,
    tags=None,
    client_request_token=None,
    volume_kms_key_id=None,
    vpc_config=None,
    principal=None,
) -> AnalysisJob:
    """Start…Job: record the job SUBMITTED and queue the task that splits its input."""
    job_name = _check_name(job_name)
    role = arns.parse_role(data_access_role_arn)
    pairs = check_tags(tags)
    token = check_client_token(client_request_token)
    if vpc_config:
        raise invalid_request(
            "VpcConfig does not apply to a self-hosted Textwheel.", field="VpcConfig"
        )
    if token:
        # A retried request (botocore reuses the token) gets the job it already started.
        existing = selectors.jobs(account, kind).filter(client_request_token=token).first()
        if existing is not None:
            if existing.job_name != job_name:
                raise validation_error(
                    "ClientRequestToken was already used for another job.",
                    field="ClientRequestToken",
                )
            return existing
    field = kinds.of_job(kind).arn_field
    if model_arn and flywheel_arn:
        raise invalid_request(f"Give {field} or FlywheelArn, not both.", field=field)
    if flywheel_arn:
        version = flywheel_version_to_serve(account, flywheel_arn, field="FlywheelArn")
    elif model_arn:
        version = version_to_serve(account, model_arn, field=field, principal=principal)
    else:
        raise invalid_request(kinds.of_job(kind).job_without_model, field=field)
    if version.model.kind != kinds.of_job(kind).kind:
        raise invalid_request(
            f"{version.arn} cannot run this kind of job.",
            field="FlywheelArn" if flywheel_arn else field,
        )
    if (
        kinds.of_job(kind).job_takes_language
        and language_code
        and language_code != version.language_code
    ):
        raise invalid_request(
            f"The recognizer {version.arn} was trained on '{version.language_code}' documents; "
            f"the job's LanguageCode is '{language_code}'.",
            field="LanguageCode",
        )
    input_config = _check_input(account, input_data_config)
    output_config, output_base = _check_output(account, output_data_config)
    job_id = uuid.uuid4().hex
    output_uri = output_base.join(
        f"{account.account_id}-{kinds.of_job(kind).job_output_code}-{job_id}",
        "output",
        "output.tar.gz",
    )
    rq_id = background.new_job_id()
    with transaction.atomic():
        job = AnalysisJob.objects.create(
            account=account,
            job_id=job_id,
            kind=kind,
            job_name=job_name,
            version=version,
            model_arn=version.arn,
            flywheel_arn=flywheel_arn or "",
            language_code=language_code or version.language_code,
            input_data_config=input_config,
            output_data_config=output_config,
            output_uri=str(output_uri),
            data_access_role_arn=role,
            volume_kms_key_id=volume_kms_key_id or "",
            client_request_token=token or "",
            rq_job_id=rq_id,
            progress_step="Waiting for a worker",
        )
        task = AnalysisTask.objects.create(job=job, role=TaskRole.SPLIT, rq_job_id=rq_id)
        if pairs:
            tags_set(account=account, resource_arn=job.arn, tags=pairs)
        background.enqueue("inference", "models_app.jobs.analysis_task_job", task.pk, job_id=rq_id)
    return job


def job_describe(*, account, kind: str, job_id) -> AnalysisJob:
    return selectors.job_for(account, job_id, kind=kind)


def job_stop(*, account, kind: str | None, job_id) -> AnalysisJob:
    """Ask a job to stop: STOPPED at once if no worker is on it, else when its workers notice."""
    job = selectors.job_for(account, job_id, kind=kind)
    with transaction.atomic():
        job = AnalysisJob.objects.select_for_update().get(pk=job.pk)
        if job.status in (S.COMPLETED, S.FAILED):
            raise invalid_request(
                f"The job {job.job_id} is {job.status}; only a submitted or running job can "
                "be stopped."
            )
        if job.status in (S.SUBMITTED, S.IN_PROGRESS):
            job_transition(job.pk, S.STOP_REQUESTED, progress_step="Stopping")
        _finish_stop_if_idle(job.pk)
    return selectors.jobs(account).get(pk=job.pk)


# Worker side: claiming tasks and the job's end states.


class _Lost(Exception):
    """This worker no longer owns its task (it was retried elsewhere, or the job ended)."""


def _lock(job_pk: int) -> AnalysisJob:
    return AnalysisJob.objects.select_for_update().get(pk=job_pk)


def _parts_prefix(job: AnalysisJob) -> storage.S3Uri:
    output = storage.parse_uri(job.output_uri, field="OutputDataConfig.S3Uri")
    job_dir = output.key.rsplit("/", 2)[0]  # <prefix>/<account>-CLN-<id>
    return storage.S3Uri(output.bucket, f"{job_dir}/parts/")


def _part_uri(job: AnalysisJob, index: int) -> storage.S3Uri:
    return _parts_prefix(job).join(f"part-{index:06d}.jsonl")


def _cleanup_parts(job: AnalysisJob) -> None:
    def remove():
        try:
            storage.delete_prefix(job.account.account_id, _parts_prefix(job))
        except Exception:  # leftovers are harmless; the output is what matters
            log.warning("removing the parts of job %s failed", job.job_id, exc_info=True)

    transaction.on_commit(remove)


def _finish_stop_if_idle(job_pk: int) -> None:
    """With the job locked: a STOP_REQUESTED job with no task running is STOPPED now."""
    job = AnalysisJob.objects.select_related("account").get(pk=job_pk)
    if job.status != S.STOP_REQUESTED:
        return
    if job.tasks.filter(status=TaskStatus.RUNNING).exists():
        return
    job.tasks.filter(status=TaskStatus.PENDING).update(status=TaskStatus.CANCELLED)
    job_transition(job_pk, S.STOPPED, message="The job was stopped.", progress_step="Stopped")
    _cleanup_parts(job)


def _fail_job(job_pk: int, message: str) -> None:
    """End a job FAILED with the reason; its other tasks are cancelled."""
    with transaction.atomic():
        job = _lock(job_pk)
        job.tasks.filter(status__in=(TaskStatus.PENDING, TaskStatus.RUNNING)).update(
            status=TaskStatus.CANCELLED
        )
        if job_transition(job_pk, S.FAILED, message=message, progress_step="Failed"):
            _cleanup_parts(AnalysisJob.objects.select_related("account").get(pk=job_pk))


def task_fail_dead(pk: int, reason: str) -> None:
    """A task's work died (an error, or its worker was killed): retry it, or fail the job."""
    with transaction.atomic():
        task = AnalysisTask.objects.filter(pk=pk).first()
        if task is None:
            return
        job = _lock(task.job_id)
        task = AnalysisTask.objects.get(pk=pk)
        if task.status not in (TaskStatus.PENDING, TaskStatus.RUNNING):
            return
        if job.status not in (S.SUBMITTED, S.IN_PROGRESS):
            AnalysisTask.objects.filter(pk=pk).update(status=TaskStatus.CANCELLED, message=reason)
            _finish_stop_if_idle(job.pk)
            return
        # What the dead attempt counted is counted again by the next one.
        AnalysisJob.objects.filter(pk=job.pk).update(
            documents_done=F("documents_done") - task.documents,
            documents_failed=F("documents_failed") - task.failed,
        )
        if task.attempts < settings.ANALYSIS_TASK_ATTEMPTS:
            rq_id = background.new_job_id()
            AnalysisTask.objects.filter(pk=pk).update(
                status=TaskStatus.PENDING,
                rq_job_id=rq_id,
                heartbeat_at=None,
                documents=0,
                failed=0,
                message=f"Retrying after: {reason}",
            )
            log.warning("analysis task %s (job %s) is retried: %s", pk, job.job_id, reason)
            background.enqueue("inference", "models_app.jobs.analysis_task_job", pk, job_id=rq_id)
            return
        AnalysisTask.objects.filter(pk=pk).update(status=TaskStatus.FAILED, message=reason)
    what = "Planning the job" if task.role == TaskRole.SPLIT else "Writing the output"
    if task.role == TaskRole.CHUNK:
        what = f"Part {task.index + 1} of the input"
    _fail_job(job.pk, f"{what} failed {task.attempts} times; the last time: {reason}")


def _current_rq_id() -> str | None:
    from rq import get_current_job

    current = get_current_job()
    return current.id if current is not None else None


def _claim(task_pk: int) -> AnalysisTask | None:
    """Take a pending task (PENDING -> RUNNING) unless its job has ended; None if not ours."""
    with transaction.atomic():
        job_pk = (
            AnalysisTask.objects.filter(pk=task_pk, status=TaskStatus.PENDING)
            .values_list("job_id", flat=True)
            .first()
        )
        if job_pk is None:
            return None
        job = _lock(job_pk)
        if job.status not in (S.SUBMITTED, S.IN_PROGRESS):
            return None
        fields = {"status": TaskStatus.RUNNING, "attempts": F("attempts") + 1}
        fields["heartbeat_at"] = timezone.now()
        rq_id = _current_rq_id()
        if rq_id:
            fields["rq_job_id"] = rq_id  # the reconciler watches the RQ job that really runs it
        if not AnalysisTask.objects.filter(pk=task_pk, status=TaskStatus.PENDING).update(**fields):
            return None
    return AnalysisTask.objects.select_related(
        "job__account", "job__version__model", "job__version__account"
    ).get(pk=task_pk)


def _claim_next(job_pk: int) -> AnalysisTask | None:
    pending = AnalysisTask.objects.filter(job_id=job_pk, status=TaskStatus.PENDING).order_by(
        "role", "index"
    )
    for pk in pending.values_list("pk", flat=True)[:10]:
        task = _claim(pk)
        if task is not None:
            return task
    return None


def task_run(*, task_id: int) -> None:
    """Run one task, then the job's next pending ones with the model already loaded."""
    started = time.monotonic()
    task = _claim(task_id)
    while task is not None:
        _execute(task)
        if time.monotonic() - started > STEAL_SECONDS:
            return  # the remaining tasks' own RQ jobs will pick them up
        task = _claim_next(task.job_id)


def _execute(task: AnalysisTask) -> None:
    step = {TaskRole.SPLIT: _split, TaskRole.CHUNK: _chunk, TaskRole.MERGE: _merge}[task.role]
    with background.tracking(AnalysisTask, task.pk):
        try:
            step(task)
        except _Lost:
            log.info("analysis task %s was taken over or its job ended", task.pk)
        except ServiceError as exc:
            # The input or the model is unusable: trying again would fail the same way.
            AnalysisTask.objects.filter(pk=task.pk).update(
                status=TaskStatus.FAILED, message=exc.message
            )
            _fail_job(task.job_id, exc.message)


def _finish_task(task: AnalysisTask, **fields) -> AnalysisJob:
    """With the job locked: mark our task DONE, or raise _Lost if it is no longer ours."""
    updated = AnalysisTask.objects.filter(
        pk=task.pk, status=TaskStatus.RUNNING, attempts=task.attempts
    ).update(status=TaskStatus.DONE, **fields)
    if not updated:
        raise _Lost()
    return AnalysisJob.objects.get(pk=task.job_id)


def _still_running(task: AnalysisTask) -> None:
    """Between batches: stop working when the job was stopped or failed."""
    status = AnalysisJob.objects.filter(pk=task.job_id).values_list("status", flat=True).first()
    if status == S.IN_PROGRESS:
        return
    with transaction.atomic():
        _lock(task.job_id)
        AnalysisTask.objects.filter(pk=task.pk, status=TaskStatus.RUNNING).update(
            status=TaskStatus.CANCELLED
        )
        _finish_stop_if_idle(task.job_id)
    raise _Lost()


# Reading the input.


class _Raw(io.RawIOBase):
    """Any object with read(n) as a raw stream, so it can be buffered and read by lines."""

    def __init__(self, stream):
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.stream.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self):
        with contextlib.suppress(Exception):
            self.stream.close()
        super().close()


@contextlib.contextmanager
def _open(account_id: str, uri: storage.S3Uri):
    """A buffered binary stream of one object (seekable when the store allows it)."""
    raw = storage.open_read(account_id, uri)
    with contextlib.closing(raw):
        if isinstance(raw, io.BufferedIOBase):
            yield raw
        else:
            yield io.BufferedReader(_Raw(raw), 1024 * 1024)


def _lines(data: bytes) -> list[bytes]:
    """Split on LF, CR or CRLF, as Comprehend reads one document per line."""
    lines = _EOL.split(data) if b"\r" in data else data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return lines


def _relative_name(base: storage.S3Uri, key: str) -> str:
    """The file name reported in the output: its key below the folder the input URI names."""
    prefix = base.key
    if prefix and not prefix.endswith("/") and key.startswith(prefix + "/"):
        prefix += "/"  # the URI names a folder without its trailing slash
    elif not prefix.endswith("/"):
        prefix = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(prefix) :] if key.startswith(prefix) else key


def _plan(job: AnalysisJob) -> tuple[list[list[dict]], int]:
    """Chunks of the input (lists of file segments) and how many documents it holds."""
    account_id = job.account.account_id
    base = storage.parse_uri(job.input_data_config["S3Uri"], field="InputDataConfig.S3Uri")
    found = storage.list_files(account_id, base)
    if not found:
        raise invalid_request(f"No objects found at {base} (InputDataConfig.S3Uri).")
    per_file = job.input_data_config.get("InputFormat") == "ONE_DOC_PER_FILE"
    most_docs, most_bytes = settings.ANALYSIS_CHUNK_DOCUMENTS, settings.ANALYSIS_CHUNK_BYTES
    chunks, current, docs, size, total = [], [], 0, 0, 0

    def cut():
        nonlocal current, docs, size
        if current:
            chunks.append(current)
        current, docs, size = [], 0, 0

    for uri, file_size in found:
        name = _relative_name(base, uri.key)
        if per_file:
            current.append({"key": uri.key, "name": name, "start": 0, "end": file_size})
            docs, size, total = docs + 1, size + file_size, total + 1
            if docs >= most_docs or size >= most_bytes:
                cut()
            continue
        start = offset = line = first_line = 0
        with _open(account_id, uri) as stream:
            for piece in iter(stream.readline, b""):
                lines = _lines(piece)
                offset += len(piece)
                line += len(lines)
                found_docs = sum(1 for raw in lines if raw.strip())
                docs, size, total = docs + found_docs, size + len(piece), total + found_docs
                if docs >= most_docs or size >= most_bytes:
                    current.append(
                        {"key": uri.key, "name": name, "start": start, "end": offset,
                         "line": first_line}
                    )  # fmt: skip
                    cut()
                    start, first_line = offset, line
        if offset > start:
            current.append(
                {"key": uri.key, "name": name, "start": start, "end": offset, "line": first_line}
            )
    cut()
    return chunks, total


def _read_range(account_id: str, uri: storage.S3Uri, start: int, end: int) -> bytes:
    with _open(account_id, uri) as stream:
        if start and stream.seekable():
            stream.seek(start)
        else:  # a network stream: read past the start
            remaining = start
            while remaining:
                skipped = stream.read(min(remaining, 1024 * 1024))
                if not skipped:
                    break
                remaining -= len(skipped)
        return stream.read(end - start)


def _documents(job: AnalysisJob, segments: list[dict]):
    """(file, line or None, text or None, error code, error message) per document, in order."""
    account_id = job.account.account_id
    bucket = storage.parse_uri(job.input_data_config["S3Uri"], field="S3Uri").bucket
    limit = kinds.of_job(job.kind).job_max_document_bytes
    per_file = job.input_data_config.get("InputFormat") == "ONE_DOC_PER_FILE"
    for seg in segments:
        if per_file and seg["end"] > limit:
            yield seg["name"], None, None, *_too_large(seg["end"], limit)
            continue
        uri = storage.S3Uri(bucket, seg["key"])
        data = _read_range(account_id, uri, seg["start"], seg["end"])
        if per_file:
            yield (seg["name"], None, *_decode(data, limit, first=True, empty_is_error=True))
            continue
        for i, raw in enumerate(_lines(data)):
            if not raw.strip():
                continue  # blank lines separate nothing and are no documents
            first = seg["start"] == 0 and i == 0
            yield (seg["name"], seg["line"] + i, *_decode(raw, limit, first=first))


def _too_large(size: int, limit: int):
    return (
        "DOCUMENT_SIZE_EXCEEDED",
        f"The document is {size:,} bytes; the limit is {limit:,} bytes (UTF-8).",
    )


def _decode(raw: bytes, limit: int, *, first: bool, empty_is_error: bool = False):
    """(text, None, None) or (None, error code, message) for one document's bytes."""
    if first and raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    if len(raw) > limit:
        return (None, *_too_large(len(raw), limit))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return (
            None,
            "UNSUPPORTED_ENCODING",
            f"The document is not valid UTF-8 (byte {exc.start + 1} cannot be read).",
        )
    if empty_is_error and not text.strip():
        return None, "EMPTY_DOCUMENT", "The document is empty."
    return text, None, None


# The three kinds of task.


def _split(task: AnalysisTask) -> None:
    """Plan the chunks and create one task (and RQ job) for each."""
    job = task.job
    job_transition(job.pk, S.IN_PROGRESS, progress_step="Reading the input")
    _still_running(task)
    chunks, total = _plan(job)
    if total > MAX_DOCUMENTS:
        raise invalid_request(
            f"The input holds {total:,} documents; a job can analyse at most {MAX_DOCUMENTS:,}."
        )
    with transaction.atomic():
        job = _lock(job.pk)
        if job.status != S.IN_PROGRESS:
            raise _Lost()
        _finish_task(task)
        AnalysisJob.objects.filter(pk=job.pk).update(
            documents_total=total,
            progress_step=f"Analysing {total:,} documents in {len(chunks)} part(s)",
            heartbeat_at=timezone.now(),
        )
        if not chunks:
            _add_merge(job)
            return
        for index, segments in enumerate(chunks):
            rq_id = background.new_job_id()
            chunk = AnalysisTask.objects.create(
                job=job,
                role=TaskRole.CHUNK,
                index=index,
                spec={"segments": segments},
                rq_job_id=rq_id,
            )
            background.enqueue(
                "inference", "models_app.jobs.analysis_task_job", chunk.pk, job_id=rq_id
            )


def _add_merge(job: AnalysisJob) -> None:
    rq_id = background.new_job_id()
    merge = AnalysisTask.objects.create(job=job, role=TaskRole.MERGE, rq_job_id=rq_id)
    background.enqueue("inference", "models_app.jobs.analysis_task_job", merge.pk, job_id=rq_id)


def _predict(served, kind: str, texts: list[str]) -> list[dict]:
    spec = kinds.of_job(kind)
    results = getattr(served, spec.serves)(texts)
    if spec.job_result_key is None:
        return results
    return [{spec.job_result_key: found} for found in results]


def _analyse(served, kind: str, texts: list[str]) -> list[dict | None]:
    """Results per text; None where the model failed on that one document."""
    try:
        return _predict(served, kind, texts)
    except Exception:
        log.warning("a batch failed; analysing its %s documents one by one", len(texts))
    out = []
    for text in texts:
        try:
            out.append(_predict(served, kind, [text])[0])
        except Exception:
            log.exception("a document could not be analysed")
            out.append(None)
    return out


def _record(task: AnalysisTask, done: int, failed: int) -> None:
    """Count a batch on the task and the job, or raise _Lost if the task is no longer ours."""
    now = timezone.now()
    with transaction.atomic():
        AnalysisJob.objects.filter(pk=task.job_id).update(
            documents_done=F("documents_done") + done,
            documents_failed=F("documents_failed") + failed,
            heartbeat_at=now,
        )
        if not AnalysisTask.objects.filter(
            pk=task.pk, status=TaskStatus.RUNNING, attempts=task.attempts
        ).update(documents=F("documents") + done, failed=F("failed") + failed, heartbeat_at=now):
            transaction.set_rollback(True)
            raise _Lost()


def _chunk(task: AnalysisTask) -> None:
    """Analyse one slice of the input into its part file."""
    job = task.job
    _still_running(task)
    if job.version is None:
        raise invalid_request(f"The model {job.model_arn} no longer exists.")
    served = serving.get(job.version)
    kind, size = job.kind, kinds.of_job(job.kind).job_batch
    per_line = job.input_data_config.get("InputFormat") != "ONE_DOC_PER_FILE"
    result_key = kinds.of_job(kind).job_result_key
    checked = time.monotonic()
    with storage.open_write(job.account.account_id, _part_uri(job, task.index)) as out:
        batch: list = []

        def flush():
            texts = [doc[2] for doc in batch if doc[2] is not None]
            results = iter(_analyse(served, kind, texts) if texts else [])
            lines, failed = [], 0
            for name, line, text, code, message in batch:
                record = {"File": name}
                if per_line:
                    # Comprehend writes classification line numbers as strings, entities' as numbers.
                    record["Line"] = line if result_key else str(line)
                result = next(results) if text is not None else None
                if text is not None and result is None:
                    code, message = "INTERNAL_SERVER_ERROR", "The model could not analyse this."
                if code:
                    record.update(ErrorCode=code, ErrorMessage=message)
                    failed += 1
                else:
                    record.update(result)
                lines.append(json.dumps(record, ensure_ascii=False))
            if lines:
                out.write(("\n".join(lines) + "\n").encode("utf-8"))
                _record(task, len(batch) - failed, failed)
            batch.clear()

        for document in _documents(job, task.spec["segments"]):
            batch.append(document)
            if len(batch) >= size:
                flush()
                if time.monotonic() - checked >= 1.0:
                    _still_running(task)
                    checked = time.monotonic()
        flush()
    with transaction.atomic():
        job = _lock(job.pk)
        _finish_task(task)
        if job.status == S.STOP_REQUESTED:
            _finish_stop_if_idle(job.pk)
            return
        if job.status != S.IN_PROGRESS:
            return
        if job.tasks.filter(role=TaskRole.CHUNK).exclude(status=TaskStatus.DONE).exists():
            return
        # The last chunk done: the merge comes next (created once, under the job's lock).
        if not job.tasks.filter(role=TaskRole.MERGE).exists():
            _add_merge(job)


class _Concat(io.RawIOBase):
    """The part files one after another, as one stream (for the tar member)."""

    def __init__(self, opener, uris):
        self.opener, self.uris, self.current = opener, list(uris), None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while True:
            if self.current is None:
                if not self.uris:
                    return 0
                self.current = self.opener(self.uris.pop(0))
            chunk = self.current.read(len(buffer))
            if chunk:
                buffer[: len(chunk)] = chunk
                return len(chunk)
            self.current.close()
            self.current = None


def _merge(task: AnalysisTask) -> None:
    """Join the parts in input order into output.tar.gz and complete the job."""
    job = task.job
    account_id = job.account.account_id
    AnalysisJob.objects.filter(pk=job.pk).update(progress_step="Writing output.tar.gz")
    indexes = list(
        job.tasks.filter(role=TaskRole.CHUNK).order_by("index").values_list("index", flat=True)
    )
    uris, total = [], 0
    for index in indexes:
        uri = _part_uri(job, index)
        found = storage.list_files(account_id, uri)
        if not found or found[0][0].key != uri.key:
            raise RuntimeError(f"the results of part {index + 1} are missing")
        uris.append(uri)
        total += found[0][1]
    output = storage.parse_uri(job.output_uri, field="OutputDataConfig.S3Uri")
    with tempfile.TemporaryFile() as buffer:
        # Level 6 (gzip's default) rather than tarfile's 9: nearly as small, several times faster.
        with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as tar:
            info = tarfile.TarInfo(OUTPUT_MEMBER)
            info.size, info.mtime, info.mode = total, int(time.time()), 0o644
            stream = io.BufferedReader(
                _Concat(lambda uri: storage.open_read(account_id, uri), uris), 1024 * 1024
            )
            tar.addfile(info, stream)
        buffer.seek(0)
        storage.save_upload(account_id, output, buffer)
    with transaction.atomic():
        job = _lock(job.pk)
        _finish_task(task)
        failed = job.documents_failed
        message = (
            f"{failed:,} of {job.documents_total or 0:,} documents could not be analysed; "
            "their lines in the output carry ErrorCode and ErrorMessage."
            if failed
            else ""
        )
        job_transition(
            job.pk, S.COMPLETED, message=message, progress=1.0, progress_step="Completed"
        )
        _cleanup_parts(AnalysisJob.objects.select_related("account").get(pk=job.pk))
