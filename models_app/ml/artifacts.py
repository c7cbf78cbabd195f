"""Saving and loading trained models without pickle.

A classifier is stored as plain ``.npy`` arrays (loaded with ``allow_pickle=False``) and
one ``model.json``, so loading never runs code from the artifact. Files are written to
a temporary directory and renamed into place, so a crash never leaves half a model,
and ``metadata.json`` (written last) records the SHA-256 of the model files.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .classifier import Block, Features, TrainedClassifier

FORMAT = "textwheel-classifier"
FORMAT_VERSION = 1
METADATA = "metadata.json"
MODEL_JSON = "model.json"
_CHUNK = 1024 * 1024


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of one file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def sha256_files(directory: str | os.PathLike, names: list[str]) -> str:
    """One hex SHA-256 over the contents of the named files, in sorted name order."""
    digest = hashlib.sha256()
    for name in sorted(names):
        with open(Path(directory) / name, "rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                digest.update(chunk)
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    """Versions that a stored model was produced with."""
    import scipy
    import sklearn

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _write_json(path: Path, obj) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(obj, fh, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        fh.flush()
        os.fsync(fh.fileno())


def _write_array(path: Path, array: np.ndarray) -> None:
    # np.save output depends only on the array, so equal models hash equally.
    with open(path, "wb") as fh:
        np.save(fh, np.ascontiguousarray(array), allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def _publish(tmp: Path, target: Path, names: list[str]) -> None:
    """Move a finished temporary directory into place, metadata last."""
    if not target.exists():
        os.rename(tmp, target)
        return
    for name in sorted(n for n in names if n != METADATA) + [METADATA]:
        os.replace(tmp / name, target / name)
    shutil.rmtree(tmp, ignore_errors=True)


def save_classifier(
    model: TrainedClassifier, directory: str | os.PathLike, metadata: dict | None = None
) -> str:
    """Write the model and metadata.json into directory; return the model files' SHA-256."""
    target = Path(directory)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        arrays = {"weights.npy": model.weights, "bias.npy": model.bias}
        blocks = []
        for i, block in enumerate(model.features.blocks):
            arrays[f"columns_{i}.npy"] = block.columns
            arrays[f"idf_{i}.npy"] = block.idf
            blocks.append({**block.spec(), "columns": f"columns_{i}.npy", "idf": f"idf_{i}.npy"})
        if model.mode == "MULTI_LABEL":
            arrays.update(
                {
                    "platt_a.npy": model.platt_a,
                    "platt_b.npy": model.platt_b,
                    "thresholds.npy": model.thresholds,
                }
            )
        for name, array in arrays.items():
            _write_array(tmp / name, array)
        _write_json(
            tmp / MODEL_JSON,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "mode": model.mode,
                "labels": model.labels,
                "temperature": model.temperature,
                "at_least_one": bool(model.at_least_one),
                "features": {"name": model.features.name, "blocks": blocks},
            },
        )
        model_files = sorted([*arrays, MODEL_JSON])
        digest = sha256_files(tmp, model_files)
        _write_json(
            tmp / METADATA,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "sha256": digest,
                "files": {name: sha256_file(tmp / name) for name in model_files},
                "libraries": library_versions(),
                "params": model.params,
                "metadata": metadata or {},
            },
        )
        _publish(tmp, target, [*model_files, METADATA])
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return digest


class ArtifactError(Exception):
    """A stored model is missing, corrupt or of an unknown format."""


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ArtifactError(f"{path.name} is missing from {path.parent}") from None
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from None


def load_classifier(
    directory: str | os.PathLike, sha256: str | None = None, *, verified: bool = False
) -> TrainedClassifier:
    """Load a model saved by save_classifier, verifying its SHA-256 (given or recorded) unless
    the caller has already proven the files (verified=True: just decrypted and authenticated)."""
    root = Path(directory)
    meta = _read_json(root / METADATA)
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{root} does not hold a {FORMAT} model of version {FORMAT_VERSION}")
    files = sorted(meta.get("files", {}))
    missing = [name for name in files if not (root / name).is_file()]
    if missing or MODEL_JSON not in files:
        raise ArtifactError(f"model files missing from {root}: {', '.join(missing) or MODEL_JSON}")
    if not verified:
        digest = sha256_files(root, files)
        for expected in (sha256, meta.get("sha256")):
            if expected and expected != digest:
                raise ArtifactError(
                    f"the model files in {root} do not match their SHA-256 "
                    f"(expected {expected}, found {digest})"
                )
    spec = _read_json(root / MODEL_JSON)
    # Parameters (with timings) live in metadata.json, outside the hash, so refitting the
    # same data gives the same model files and digest.
    params = meta.get("params", {})

    def array(name: str) -> np.ndarray:
        if name not in files:
            raise ArtifactError(f"{name} is not part of the model in {root}")
        return np.load(root / name, allow_pickle=False)

    blocks = [
        Block(
            kind=b["kind"],
            weight=b["weight"],
            min_df=b["min_df"],
            max_features=b["max_features"],
            skip=b["skip"],
            prefix=b["prefix"],
            columns=array(b["columns"]),
            idf=array(b["idf"]),
        )
        for b in spec["features"]["blocks"]
    ]
    multi_label = spec["mode"] == "MULTI_LABEL"
    return TrainedClassifier(
        labels=spec["labels"],
        mode=spec["mode"],
        params=params,
        features=Features(spec["features"]["name"], blocks),
        weights=array("weights.npy"),
        bias=array("bias.npy"),
        temperature=spec["temperature"],
        platt_a=array("platt_a.npy") if multi_label else None,
        platt_b=array("platt_b.npy") if multi_label else None,
        thresholds=array("thresholds.npy") if multi_label else None,
        at_least_one=spec["at_least_one"],
    )
