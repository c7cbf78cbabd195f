"""Save and load trained recognizers: spaCy's `to_disk` files, the CRF's model file (when the
ensemble uses one), the fine-tuned base model (when the ensemble uses one: `transformer/`, with
the encoder's config.json, tokenizer.json and model.safetensors, the tagging head's
head.safetensors and tagger.json) and `metadata.json`.

torch is needed only to load a model with a transformer member; it is imported then.

Nothing is pickled: loading rebuilds the pipeline from its config (the only custom layer is
registered by `recognizer`) and reads the weights. A model is written into a temporary sibling
directory and renamed into place, so a crash never leaves half a model under the final name.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import uuid
from pathlib import Path

import numpy
import spacy
import thinc

from models_app.ml.recognizer import TrainedRecognizer, without_timings

FORMAT = "textwheel-entity-recognizer"
FORMAT_VERSION = 2  # 2: optional CRF member (version 1 models load as the CNN alone)
# 3: optional transformer member. Written only by models that have one, so a model without it
# keeps version 2 and its bytes.
FORMAT_VERSION_TRANSFORMER = 3
METADATA_FILE = "metadata.json"
MODEL_DIR = "model"
CRF_FILE = "crf.crfsuite"
TRANSFORMER_DIR = "transformer"


class ArtifactError(Exception):
    """A saved model is missing, corrupt, or does not match its recorded sha256."""


def directory_sha256(directory: str | os.PathLike) -> str:
    """sha256 over every file's relative path and bytes, in sorted path order."""
    root = Path(directory)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def save_recognizer(
    recognizer: TrainedRecognizer,
    directory: str | os.PathLike,
    *,
    scores: dict | None = None,
    extra: dict | None = None,
) -> str:
    """Write the model and metadata.json to `directory` (must not exist); return its sha256."""
    final = Path(directory)
    if final.exists():
        raise FileExistsError(f"{final} already exists")
    final.parent.mkdir(parents=True, exist_ok=True)
    temporary = final.parent / f".{final.name}.tmp-{uuid.uuid4().hex}"
    try:
        temporary.mkdir()
        recognizer.nlp.to_disk(temporary / MODEL_DIR)
        if recognizer.crf:
            (temporary / CRF_FILE).write_bytes(recognizer.crf)
        versions = {}
        if recognizer.transformer is not None:
            import safetensors
            import tokenizers
            import torch

            recognizer.transformer.save(temporary / TRANSFORMER_DIR)
            versions = {
                "torch": torch.__version__,
                "tokenizers": tokenizers.__version__,
                "safetensors": safetensors.__version__,
            }
        # No timestamps or durations here: the same data and settings must always give the
        # same bytes and sha256 (durations stay with the version's row).
        metadata = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION_TRANSFORMER if versions else FORMAT_VERSION,
            "entity_types": recognizer.entity_types,
            "params": without_timings(recognizer.params),
            "scores": scores or {},
            "extra": extra or {},
            "library_versions": {
                "python": platform.python_version(),
                "spacy": spacy.__version__,
                "thinc": thinc.__version__,
                "python-crfsuite": importlib.metadata.version("python-crfsuite"),
                "numpy": numpy.__version__,
                **versions,
            },
        }
        with open(temporary / METADATA_FILE, "w", encoding="utf-8") as f:
            json.dump(metadata, f, indent=2, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        sha256 = directory_sha256(temporary)
        os.rename(temporary, final)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return sha256


def read_metadata(directory: str | os.PathLike) -> dict:
    """The metadata.json of a saved recognizer."""
    path = Path(directory) / METADATA_FILE
    try:
        with open(path, encoding="utf-8") as f:
            metadata = json.load(f)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from exc
    if metadata.get("format") != FORMAT:
        raise ArtifactError(f"{path} is not an entity recognizer ({metadata.get('format')!r})")
    return metadata


def load_recognizer(
    directory: str | os.PathLike, sha256: str | None = None, *, verified: bool = False
) -> TrainedRecognizer:
    """Load a recognizer saved by `save_recognizer`, checking its sha256 when one is given,
    unless the caller has already proven the files (verified=True: just decrypted and
    authenticated)."""
    directory = Path(directory)
    if sha256 is not None and not verified:
        actual = directory_sha256(directory)
        if actual != sha256:
            raise ArtifactError(
                f"{directory} has sha256 {actual}, expected {sha256}: "
                "the model files changed or are incomplete"
            )
    metadata = read_metadata(directory)
    try:
        nlp = spacy.load(directory / MODEL_DIR)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot load the model in {directory}: {exc}") from exc
    crf_path = directory / CRF_FILE
    crf = crf_path.read_bytes() if crf_path.exists() else None
    transformer = None
    if (directory / TRANSFORMER_DIR).is_dir():
        from models_app.ml import encoder, ner_transformer

        if not encoder.available():
            raise ArtifactError(
                f"the model in {directory} needs torch (the base-models extra) to load"
            )
        try:
            transformer = ner_transformer.Tagger.load(directory / TRANSFORMER_DIR)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is a broken artifact
            raise ArtifactError(f"cannot load the transformer in {directory}: {exc}") from exc
    return TrainedRecognizer(nlp, metadata["entity_types"], metadata["params"], crf, transformer)
