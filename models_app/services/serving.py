"""Loaded models for inference: a bounded per-process cache keyed by (version id, artifact sha256).

Web processes and workers call `get(version)`; a model is read from its artifact once per process
and kept until the cache is full, least recently used first out. A version's artifact never
changes (a new model is a new version), so the key can never serve stale files.

Each web process also runs a warmer (`warmer_start`, from gunicorn's `post_worker_init`): a
thread that looks for endpoints newly IN_SERVICE and loads their models off the request path, so
the first call to a new endpoint is as fast as the rest. The deploy job loads the model too, but
in the worker's process, whose cache no web process shares.
"""

import logging
import threading
import time
from collections import OrderedDict

import numpy as np
from django.conf import settings
from django.db import close_old_connections, connection

from models_app import kinds
from models_app.ml import encoder
from models_app.models import Endpoint, EndpointStatus, ModelVersion
from models_app.services import artifacts
from webapp.accounts.models import EncryptionKey
from webapp.core.errors import ServiceError, unavailable

log = logging.getLogger(__name__)

# Comprehend's ClassifyDocument answers the three most likely classes of a multi-class model.
TOP_CLASSES = 3
SCORE_DIGITS = 4


class ServedModel:
    """A loaded classifier or recognizer, answering in Comprehend's shapes."""

    def __init__(self, version: ModelVersion, model, kind: str):
        self.version_id = version.pk
        self.kind = kind
        self.mode = getattr(model, "mode", None) or version.mode or "MULTI_CLASS"
        self.model = model
        # spaCy pipelines are not promised to be thread-safe; the GIL serialises them anyway.
        spec = kinds.get(kind)
        self._lock = None if spec.thread_safe else threading.Lock()
        labels = getattr(model, "labels", None) or []
        self._label_index = {label: j for j, label in enumerate(labels)}
        analyse = getattr(self, spec.serves)
        self._batcher = _Batcher(
            analyse,
            settings.INFERENCE_MAX_BATCH,
            settings.INFERENCE_BATCH_LINGER_MS / 1000,
            settings.INFERENCE_MAX_BATCH_CHARS,
        )

    def analyse_one(self, text: str):
        """One real-time call: batched with calls that arrive meanwhile in this process."""
        return self._batcher.submit(text)

    def classify(self, texts: list[str]) -> list[dict]:
        """{"Classes": [...]} (multi-class) or {"Labels": [...]} (multi-label) per text."""
        if hasattr(self.model, "predict_proba") and hasattr(self.model, "labels"):
            return self._classify_from_proba(texts)
        scored = self.model.predict_scores(texts)
        if self.mode == "MULTI_LABEL":
            chosen = self.model.predict(texts)
            out = []
            for scores, labels in zip(scored, chosen, strict=True):
                keep = set(labels)
                out.append({"Labels": [_named(n, s) for n, s in scores if n in keep]})
            return out
        return [{"Classes": [_named(n, s) for n, s in scores[:TOP_CLASSES]]} for scores in scored]

    def _classify_from_proba(self, texts: list[str]) -> list[dict]:
        """The same answers from the probability matrix: no (label, score) pair per label per
        document, which is most of the cost for a model with 150 labels and 100,000 documents."""
        labels = self.model.labels
        P = np.asarray(self.model.predict_proba(texts))
        if self.mode == "MULTI_LABEL":
            chosen = self.model.predict_from_proba(P)
            index = self._label_index
            out = []
            for row, names in zip(P, chosen, strict=True):
                pairs = sorted(((float(row[index[n]]), n) for n in names), reverse=True)
                out.append({"Labels": [_named(n, s) for s, n in pairs]})
            return out
        k = min(TOP_CLASSES, P.shape[1])
        top = (
            np.argpartition(-P, k - 1, axis=1)[:, :k]
            if P.shape[1] > k
            else np.tile(np.arange(k), (P.shape[0], 1))
        )
        top_scores = np.take_along_axis(P, top, axis=1)
        order = np.argsort(-top_scores, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        top_scores = np.round(
            np.take_along_axis(top_scores, order, axis=1).astype(float), SCORE_DIGITS
        )
        return [
            {"Classes": [{"Name": labels[j], "Score": s} for j, s in zip(idx, row, strict=True)]}
            for idx, row in zip(top.tolist(), top_scores.tolist(), strict=True)
        ]

    def entities(self, texts: list[str]) -> list[list[dict]]:
        """Comprehend's Entity shapes per text, in document order."""
        if self._lock is not None:
            with self._lock:
                found = self.model.entities(texts)
        else:
            found = self.model.entities(texts)
        return [
            [
                {
                    "Score": round(float(score), SCORE_DIGITS),
                    "Type": type_,
                    "Text": text[begin:end],
                    "BeginOffset": int(begin),
                    "EndOffset": int(end),
                }
                for begin, end, type_, score in spans
            ]
            for text, spans in zip(texts, found, strict=True)
        ]


class _Slot:
    __slots__ = ("text", "event", "done", "result", "error")

    def __init__(self, text: str):
        self.text, self.event, self.done = text, threading.Event(), False
        self.result = self.error = None


class _Batcher:
    """Dynamic batching for real-time calls, with no thread of its own.

    A model answers a batch of texts much faster per text than one text at a time, and in one
    process the calls run one after another anyway (the GIL). So the first caller leads: it runs
    its own text together with every call queued meanwhile (up to `most`), then hands the lead to
    the oldest call still waiting. Nobody waits for more than the batch before theirs, and a
    batch stops growing at `most_chars` characters so long texts do not hold up short ones.

    Under load (calls finishing less than BUSY_SECONDS apart) a lead with no company first
    waits `linger` seconds: the calls behind it in other threads catch up and share its batch.
    """

    BUSY_SECONDS = 0.01

    def __init__(self, analyse, most: int, linger: float = 0.0, most_chars: int = 0):
        self.analyse, self.most, self.linger = analyse, max(1, most), linger
        self.most_chars = most_chars
        self.lock = threading.Lock()
        self.pending: list[_Slot] = []
        self.busy = False
        self.finished_at = 0.0

    def submit(self, text: str):
        slot = _Slot(text)
        with self.lock:
            self.pending.append(slot)
            lead, self.busy = not self.busy, True
        if not lead:
            slot.event.wait()  # set when our result is in, or when the lead passes to us
        if not slot.done:  # we lead, and our slot is the oldest pending one
            if (
                self.linger
                and len(self.pending) == 1
                and time.monotonic() - self.finished_at < self.BUSY_SECONDS
            ):
                time.sleep(self.linger)
            with self.lock:
                size = self._batch_size()
                batch, self.pending = self.pending[:size], self.pending[size:]
            try:
                self._run(batch)
            finally:  # whatever happened, the next caller must not wait forever
                self.finished_at = time.monotonic()
                with self.lock:
                    if self.pending:
                        self.pending[0].event.set()
                    else:
                        self.busy = False
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _batch_size(self) -> int:
        """How many pending calls the next batch takes (at least one)."""
        if not self.most_chars:
            return self.most
        chars = 0
        for i, slot in enumerate(self.pending[: self.most]):
            chars += len(slot.text)
            if chars > self.most_chars:
                return max(1, i)
        return self.most

    def _run(self, batch: list[_Slot]) -> None:
        try:
            results = self.analyse([s.text for s in batch])
        except Exception:
            results = None
        for i, item in enumerate(batch):
            try:
                if results is not None:
                    item.result = results[i]
                else:  # one bad text must not fail the calls it was batched with
                    item.result = self.analyse([item.text])[0]
            except Exception as exc:
                item.error = exc
            finally:
                item.done = True
                if item is not batch[0]:
                    item.event.set()


def _named(name, score) -> dict:
    return {"Name": str(name), "Score": round(float(score), SCORE_DIGITS)}


def _read(version: ModelVersion):
    """Load a version's artifact, checking it is the one training recorded."""
    if not version.artifact_uri or not version.artifact_sha256:
        raise unavailable(f"The model {version.arn} has no trained artifact to serve.")
    try:
        spec = kinds.get(version.model.kind)
        model = artifacts.artifact_load(
            version,
            lambda folder, verified: spec.load(
                folder, sha256=version.artifact_sha256, verified=verified
            ),
        )
        if spec.serves != "classify":
            return model
        weights = getattr(model, "weights", None)
        if isinstance(weights, np.ndarray) and weights.ndim == 2:
            # Scores are X @ weights.T: with the weights in column order that transpose is
            # contiguous and scipy multiplies in place, instead of copying the whole labels x
            # features matrix on every call (35 ms a call for CLINC150's 150 x 66,000).
            model.weights = np.asfortranarray(weights)
        return model
    except ServiceError:
        raise
    except Exception:  # a missing, corrupt or changed artifact
        # The cause names files on the server: it goes to the log, the message says what it means.
        log.exception("loading the model of %s failed", version.arn)
        raise unavailable(
            f"The model {version.arn} could not be loaded: its stored files are missing, "
            "changed or unreadable."
        ) from None


class _Cache:
    def __init__(self):
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.loading: dict = {}  # key -> lock held while one thread loads that model
        self.loads = 0  # models read from their artifacts by this process

    def get(self, version: ModelVersion) -> ServedModel:
        key = (version.pk, version.artifact_sha256)
        with self.lock:
            served = self.items.get(key)
            if served is not None:
                self.items.move_to_end(key)
                return served
            loading = self.loading.setdefault(key, threading.Lock())
        # One thread reads the files; others asking for the same model wait for it.
        with loading:
            with self.lock:
                served = self.items.get(key)
            if served is None:
                served = ServedModel(version, _read(version), version.model.kind)
                with self.lock:
                    self.loads += 1
                    self.items[key] = served
                    while len(self.items) > max(1, settings.INFERENCE_MODEL_CACHE_SIZE):
                        self.items.popitem(last=False)
            with self.lock:
                self.loading.pop(key, None)
        return served

    def peek(self, key) -> ServedModel | None:
        with self.lock:
            served = self.items.get(key)
            if served is not None:
                self.items.move_to_end(key)
            return served

    def has(self, version: ModelVersion) -> bool:
        return self.peek((version.pk, version.artifact_sha256)) is not None

    def clear(self) -> None:
        with self.lock:
            self.items.clear()


_cache = _Cache()


def torch_threads_for_web(workers: int) -> int:
    """Limit torch (models with a base model) in a web process to its share of the cores.

    gunicorn runs several processes of several threads; each call runs in one of them, and
    torch's own threads for every call on top would give far more threads than cores and slow
    every call. SERVING_TORCH_THREADS sets the number; by default the cores this process may use
    divided among the `workers` web processes, at least one. Workers (training, analysis jobs)
    are not limited: they use every core they may. GPUs are used when torch sees one.
    """
    encoder.limit_threads(None)
    share = max(1, encoder.threads() // max(1, workers))
    encoder.limit_threads(settings.SERVING_TORCH_THREADS or share)
    encoder.allow_bf16(settings.ENCODER_BF16)
    encoder.allow_int8(settings.ENCODER_INT8)
    return encoder.threads()


_prefetching: set = set()
_prefetch_lock = threading.Lock()


def key_disabled(key_arn: str) -> ServiceError:
    """The refusal of a model whose encryption key is disabled."""
    return unavailable(
        f"The KMS key {key_arn} is disabled; models encrypted with it cannot be used until it "
        "is enabled."
    )


def check_key(version: ModelVersion) -> None:
    """Refuse a version whose model key is disabled (one query, only for encrypted models)."""
    if version.model_key_id is None:
        return
    key = EncryptionKey.objects.select_related("account").get(pk=version.model_key_id)
    if not key.enabled:
        raise key_disabled(key.arn)


def get(version: ModelVersion) -> ServedModel:
    """The loaded model of a trained version, from this process's cache when it is there.

    A model loaded before its key was disabled stays in memory, so the key is asked here too.
    """
    check_key(version)
    return _cache.get(version)


def check(version: ModelVersion) -> None:
    """Load a version and run it once (the endpoint job does this before IN_SERVICE)."""
    served = get(version)
    getattr(served, kinds.get(served.kind).serves)(["Textwheel checks that this model answers."])


def cached(version_id: int, artifact_sha256: str) -> ServedModel | None:
    """The loaded model if this process has it (no database read), else None."""
    return _cache.peek((version_id, artifact_sha256))


def prefetch(version_id: int, artifact_sha256: str) -> None:
    """Start loading a version in the background, so the first call after an update is fast."""
    key = (version_id, artifact_sha256)
    if _cache.peek(key) is not None:
        return
    with _prefetch_lock:
        if key in _prefetching:
            return
        _prefetching.add(key)

    def load():
        try:
            get(ModelVersion.objects.select_related("model", "account").get(pk=version_id))
        except Exception:  # the call that needs it will report the problem
            log.warning("prefetching model version %s failed", version_id, exc_info=True)
        finally:
            with _prefetch_lock:
                _prefetching.discard(key)
            connection.close()  # this thread's own connection

    threading.Thread(target=load, daemon=True, name=f"prefetch-{version_id}").start()


def clear() -> None:
    _cache.clear()


def loads() -> int:
    """How many models this process has read from their artifacts (the cache's misses)."""
    return _cache.loads


class _Warmer:
    """Loads the models of endpoints that went IN_SERVICE, in this process, off the request path.

    Every `every` seconds (the time a route may be cached, so a new endpoint is warm about when
    the calls could first reach it) one small query reads the newest IN_SERVICE endpoints, at
    most as many as the cache holds, and each model not yet seen is loaded through `get`, with
    its artifact's sha256 and its key checked as for a call. Each endpoint's version is warmed
    once per process: a model the cache later drops for busier ones, or one that failed to load,
    is left to the call that needs it, so the warmer never churns the cache. Endpoints not in
    service are not read.
    """

    def __init__(self):
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.seen: set = set()  # (endpoint id, version id) already warmed or tried
        self.lock = threading.Lock()

    def start(self, every: float) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.stopping.clear()
            self.thread = threading.Thread(
                target=self._run, args=(every,), daemon=True, name="model-warmer"
            )
            self.thread.start()

    def stop(self) -> None:
        with self.lock:
            thread, self.thread = self.thread, None
        if thread is not None:
            self.stopping.set()
            thread.join()
        self.seen = set()  # a warmer started again warms what is in service then

    def _run(self, every: float) -> None:
        try:
            while not self.stopping.is_set():
                try:
                    close_old_connections()
                    self.warm_once()
                except Exception:  # the database away for a moment: try again next time
                    log.warning("warming models failed", exc_info=True)
                self.stopping.wait(every)
        finally:
            connection.close()  # this thread's own connection

    def warm_once(self) -> list[int]:
        """Load the models of newly IN_SERVICE endpoints; the ids of the versions loaded."""
        rows = (
            Endpoint.objects.filter(status=EndpointStatus.IN_SERVICE, version__isnull=False)
            .exclude(version__artifact_sha256="")
            .order_by("-updated_at")
            .values_list("pk", "version_id", "version__artifact_sha256")[
                : max(1, settings.INFERENCE_MODEL_CACHE_SIZE)
            ]
        )
        warmed = []
        for endpoint_id, version_id, sha256 in list(rows):
            # Seen per endpoint and version: a new endpoint, or one updated to another version,
            # is warmed even if the same model was warmed (and dropped) for another one.
            if (endpoint_id, version_id) in self.seen or self.stopping.is_set():
                continue
            self.seen.add((endpoint_id, version_id))
            if _cache.peek((version_id, sha256)) is not None:
                continue
            version = ModelVersion.objects.select_related("model", "account").get(pk=version_id)
            if version.artifact_sha256 != sha256:
                continue
            try:
                get(version)
            except ServiceError as exc:  # a disabled key, a changed artifact: the call says so
                log.warning("not warming %s: %s", version.arn, exc.message)
                continue
            warmed.append(version.pk)
        return warmed


_warmer = _Warmer()


def warmer_start(every: float | None = None) -> None:
    """Start this process's model warmer (once; web processes only, see the module's doc)."""
    if every is None:
        every = max(0.5, settings.ENDPOINT_ROUTE_CACHE_SECONDS)
    _warmer.start(every)


def warmer_stop() -> None:
    _warmer.stop()


def warm() -> list[int]:
    """One pass of the warmer in the calling thread; the ids of the versions it loaded."""
    return _warmer.warm_once()
