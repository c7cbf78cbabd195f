"""Saving and loading trained models without pickle.

A classifier is stored as plain ``.npy`` arrays (loaded with ``allow_pickle=False``) and
one ``model.json``, so loading never runs code from the artifact. Files are written to
a temporary directory and renamed into place, so a crash never leaves half a model,
and ``metadata.json`` (written last) records the SHA-256 of the model files.

A classifier blended with a base model's sentence embeddings also stores the frozen encoder's
files (``encoder.config.json``, ``encoder.tokenizer.json``, ``encoder.safetensors``: JSON and
safetensors, no code) and its head as ``.npy`` arrays; loading it needs torch, which other
models never import.

A model loads from its folder or from its files already in memory (``ModelFiles``: an
encrypted model is decrypted straight into one, so its plain files never touch a disk and
are not read back). Arrays loaded from memory are views of those bytes, read-only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from .classifier import Block, Features, TrainedClassifier, without_timings

FORMAT = "textwheel-classifier"
FORMAT_VERSION = 1
METADATA = "metadata.json"
MODEL_JSON = "model.json"
# A classifier blended with a base model's sentence embeddings also keeps the frozen encoder's
# three files (flat, beside the arrays) and its head.
ENCODER_FILES = {
    "config.json": "encoder.config.json",
    "tokenizer.json": "encoder.tokenizer.json",
    "model.safetensors": "encoder.safetensors",
}
EMBEDDING_WEIGHTS = "embedding_weights.npy"
EMBEDDING_BIAS = "embedding_bias.npy"
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


def _write_bytes(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
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
        spec = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "mode": model.mode,
            "labels": model.labels,
            "temperature": model.temperature,
            "at_least_one": bool(model.at_least_one),
            "features": {"name": model.features.name, "blocks": blocks},
        }
        blobs: dict[str, bytes] = {}
        if model.embedding is not None:
            part = model.embedding
            arrays[EMBEDDING_WEIGHTS] = part.weights
            arrays[EMBEDDING_BIAS] = part.bias
            encoder_files = part.encoder_files()
            blobs = {ENCODER_FILES[name]: encoder_files[name] for name in ENCODER_FILES}
            spec["embedding"] = {
                "base_model": part.base_model,
                "share": part.share,
                "scales": list(part.scales),
                "max_tokens": part.max_tokens,
                "bf16": part.bf16,
                "int8": part.int8,
                "weights": EMBEDDING_WEIGHTS,
                "bias": EMBEDDING_BIAS,
                "encoder": dict(ENCODER_FILES),
            }
        for name, array in arrays.items():
            _write_array(tmp / name, array)
        for name, data in blobs.items():
            _write_bytes(tmp / name, data)
        _write_json(tmp / MODEL_JSON, spec)
        model_files = sorted([*arrays, *blobs, MODEL_JSON])
        digest = sha256_files(tmp, model_files)
        _write_json(
            tmp / METADATA,
            {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "sha256": digest,
                "files": {name: sha256_file(tmp / name) for name in model_files},
                "libraries": library_versions(),
                # Wall-clock figures differ run to run; they stay with the version's row, so
                # the same data and settings give byte-identical files.
                "params": without_timings(model.params),
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


class ModelFiles:
    """A model's files held in memory, by name: what a loader reads instead of a folder when the
    files are already in memory. Contents are kept as read-only views of the buffers given
    (nothing is copied), and `read_bytes` returns such a view."""

    def __init__(self, files: Mapping[str, bytes | memoryview], *, label: str = "memory"):
        self._files = MappingProxyType(
            {name: memoryview(data).toreadonly() for name, data in files.items()}
        )
        self._label = label

    def names(self) -> list[str]:
        return sorted(self._files)

    def read_bytes(self, name: str) -> memoryview:
        try:
            return self._files[name]
        except KeyError:
            raise FileNotFoundError(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._files

    def __str__(self) -> str:
        return self._label


class _Folder:
    """A model folder read through the same few calls as ModelFiles."""

    def __init__(self, directory: str | os.PathLike):
        self.root = Path(directory)

    def __contains__(self, name: str) -> bool:
        return (self.root / name).is_file()

    def read_bytes(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def sha256(self, names: list[str]) -> str:
        return sha256_files(self.root, names)

    def array(self, name: str) -> np.ndarray:
        return np.load(self.root / name, allow_pickle=False)

    def __str__(self) -> str:
        return str(self.root)


class _InMemory:
    def __init__(self, files: ModelFiles):
        self.files = files

    def __contains__(self, name: str) -> bool:
        return name in self.files

    def read_bytes(self, name: str) -> memoryview:
        return self.files.read_bytes(name)

    def sha256(self, names: list[str]) -> str:
        digest = hashlib.sha256()
        for name in sorted(names):
            digest.update(self.files.read_bytes(name))
        return digest.hexdigest()

    def array(self, name: str) -> np.ndarray:
        return array_from_npy(self.files.read_bytes(name), name=name)

    def __str__(self) -> str:
        return str(self.files)


# np.load refuses headers longer than this unless told otherwise; so does array_from_npy.
_NPY_HEADER_PEEK = 16 << 10


def array_from_npy(data: bytes | memoryview, *, name: str = "the array") -> np.ndarray:
    """The array in the bytes of a .npy file, as a read-only view of them (no copy); object
    arrays are refused, as np.load(allow_pickle=False) refuses them."""
    data = memoryview(data).toreadonly()
    fh = io.BytesIO(bytes(data[:_NPY_HEADER_PEEK]))  # the header only
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version == (2, 0):
            shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except ValueError as exc:
        raise ArtifactError(f"{name} is not a readable .npy file: {exc}") from None
    if dtype.hasobject:
        raise ArtifactError(f"{name} holds Python objects, which a model may not")
    count = 1
    for n in shape:
        count *= n
    offset = fh.tell()
    if len(data) - offset != count * dtype.itemsize:
        raise ArtifactError(f"{name} is cut short or has bytes past its array")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape, order="F" if fortran_order else "C")


def _read_json(source, name: str) -> dict:
    try:
        return json.loads(bytes(source.read_bytes(name)).decode("utf-8"))
    except FileNotFoundError:
        raise ArtifactError(f"{name} is missing from {source}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{name} in {source} is not valid JSON: {exc}") from None


def load_classifier(
    directory: str | os.PathLike | ModelFiles, sha256: str | None = None, *, verified: bool = False
) -> TrainedClassifier:
    """Load a model saved by save_classifier from its folder or its files in memory, verifying
    its SHA-256 (given or recorded) unless the caller has already proven the files
    (verified=True: just decrypted and authenticated)."""
    root = _InMemory(directory) if isinstance(directory, ModelFiles) else _Folder(directory)
    meta = _read_json(root, METADATA)
    if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(f"{root} does not hold a {FORMAT} model of version {FORMAT_VERSION}")
    files = sorted(meta.get("files", {}))
    missing = [name for name in files if name not in root]
    if missing or MODEL_JSON not in files:
        raise ArtifactError(f"model files missing from {root}: {', '.join(missing) or MODEL_JSON}")
    if not verified:
        digest = root.sha256(files)
        for expected in (sha256, meta.get("sha256")):
            if expected and expected != digest:
                raise ArtifactError(
                    f"the model files in {root} do not match their SHA-256 "
                    f"(expected {expected}, found {digest})"
                )
    spec = _read_json(root, MODEL_JSON)
    # Parameters live in metadata.json, outside the hash (and without wall-clock figures, so
    # refitting the same data gives byte-identical files).
    params = meta.get("params", {})

    def array(name: str) -> np.ndarray:
        if name not in files:
            raise ArtifactError(f"{name} is not part of the model in {root}")
        return root.array(name)

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
    embedding = _embedding_part(spec["embedding"], root, files) if "embedding" in spec else None
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
        embedding=embedding,
    )


def _embedding_part(spec: dict, root, files: list[str]):
    """The embedding half of a blended model: its encoder is shared by every model in this
    process that stores the same files (loaded once), its head read as the other arrays."""
    from . import embedding_model, encoder

    names = {**spec["encoder"], "weights": spec["weights"], "bias": spec["bias"]}
    missing = [name for name in names.values() if name not in files]
    if missing:
        raise ArtifactError(f"{missing[0]} is not part of the model in {root}")
    if not encoder.available():
        raise ArtifactError(
            f"the model in {root} uses a base model's encoder, which needs torch and tokenizers "
            "(the base-models extra)"
        )
    try:
        enc = encoder.shared({own: root.read_bytes(name) for own, name in spec["encoder"].items()})
    except encoder.EncoderError as exc:
        raise ArtifactError(
            f"the encoder stored with the model in {root} cannot be used: {exc}"
        ) from None
    return embedding_model.EmbeddingPart(
        encoder=enc,
        weights=root.array(spec["weights"]),
        bias=root.array(spec["bias"]),
        share=spec["share"],
        scales=tuple(spec["scales"]),
        max_tokens=spec["max_tokens"],
        base_model=spec.get("base_model", ""),
        bf16=bool(spec.get("bf16", False)),
        int8=bool(spec.get("int8", False)),
    )
