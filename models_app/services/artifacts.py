"""Where trained models' files live: written, opened and copied through one module.

Without S3_ENDPOINT_URL a version's artifact is the folder `$DATA_ROOT/artifacts/<account>/<model>/
<version>/` and its `artifact_uri` is that path, as it always was. With S3_ENDPOINT_URL set it lives
in the object store at `s3://<ARTIFACT_BUCKET>/artifacts/<account>/<model>/<version>/`, and each
machine keeps the models it has read in `$DATA_ROOT/artifact-cache/<sha256>/`: web and worker
machines then share nothing but the database, Redis and the store.

`models_app.ml` saves into and loads from a local folder and knows nothing of this; the functions
here move that folder. A model is whole before anything refers to it: the ml layer writes under a
temporary name and renames, the upload finishes before the version row records the URI, and a
cache entry appears by renaming a finished download.
"""

import contextlib
import logging
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from models_app.models import ModelVersion
from webapp.core import storage
from webapp.core.errors import ServiceError

log = logging.getLogger(__name__)

CACHE_FOLDER = "artifact-cache"
# Uploaded after every file it describes (both kinds of artifact have one).
METADATA = "metadata.json"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def _remote() -> bool:
    return bool(settings.S3_ENDPOINT_URL)


def _in_store(uri: str) -> bool:
    return uri.startswith("s3://")


def local_dir(version: ModelVersion) -> Path:
    """The artifact folder of a version when the installation has no object store."""
    return (
        Path(settings.DATA_ROOT)
        / "artifacts"
        / version.account.account_id
        / str(version.model_id)
        / str(version.pk)
    )


def store_location(version: ModelVersion) -> storage.S3Uri:
    """The folder of a version's artifact in the object store."""
    return storage.S3Uri(
        settings.ARTIFACT_BUCKET,
        f"artifacts/{version.account.account_id}/{version.model_id}/{version.pk}/",
    )


def cache_root() -> Path:
    """This machine's copies of stored models, one folder per artifact sha256."""
    return Path(settings.DATA_ROOT) / CACHE_FOLDER


@contextlib.contextmanager
def _store_errors(doing: str):
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        log.exception("%s failed", doing)
        code = exc.response.get("Error", {}).get("Code", "an error")
        raise ServiceError(
            "InternalServerException",
            f"The trained model could not be {doing} (the object store answered {code}).",
            500,
        ) from None
    except BotoCoreError:
        log.exception("%s failed", doing)
        raise ServiceError(
            "InternalServerException",
            f"The trained model could not be {doing} (the object store did not answer).",
            500,
        ) from None


def _work_dir(prefix: str) -> Path:
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=root))


def _settle(folder: Path, sha256: str) -> Path:
    """Make a finished folder the cache entry for sha256 (another process's copy may win)."""
    entry = cache_root() / sha256
    try:
        os.rename(folder, entry)
    except OSError:
        if not entry.is_dir():
            raise
    return entry


def _evict(entry: Path) -> None:
    # Renamed away first, so no reader ever sees a half-deleted folder under the sha256.
    gone = entry.with_name(f".evict-{uuid.uuid4().hex}")
    with contextlib.suppress(FileNotFoundError):
        os.rename(entry, gone)
    shutil.rmtree(gone, ignore_errors=True)


def artifact_write(version: ModelVersion, save: Callable[[Path], str]) -> tuple[str, str]:
    """Store a version's model written by save(folder) -> sha256; return (artifact_uri, sha256)."""
    if not _remote():
        directory = local_dir(version)
        return str(directory), save(directory)
    work = _work_dir(".write-")
    try:
        folder = work / "model"
        sha256 = save(folder)
        location = store_location(version)
        store = storage.installation_store()
        with _store_errors("stored"):
            store.ensure_bucket(location.bucket)
            # A retried training starts from nothing: a file left by an earlier run would
            # change what the recorded sha256 describes.
            store.delete_prefix(location)
            store.upload_folder(folder, location, last=METADATA)
        _settle(folder, sha256)  # this machine will likely serve it: keep it
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return str(location), sha256


def artifact_open(version: ModelVersion, *, refresh: bool = False) -> Path:
    """A local folder holding the version's artifact, fetched into this machine's cache if
    needed; refresh=True drops the cached copy first (one that failed its checksum)."""
    uri = version.artifact_uri
    if not _in_store(uri):
        return Path(uri)
    sha256 = version.artifact_sha256
    if not _SHA256.match(sha256 or ""):
        raise ValueError("the version records no valid artifact sha256")
    entry = cache_root() / sha256
    if refresh:
        _evict(entry)
    if entry.is_dir():
        return entry
    work = _work_dir(".fetch-")
    try:
        # Store errors go up as they are: the caller says what a model that cannot be read means.
        found = storage.installation_store().download_folder(
            storage.parse_uri(uri, field="artifact_uri"), work / "model"
        )
        if not found:
            raise FileNotFoundError("the stored model has no files")
        return _settle(work / "model", sha256)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def artifact_load(version: ModelVersion, load: Callable[[Path], object]):
    """load(folder) on the version's artifact; a cached copy that fails is fetched once more."""
    try:
        return load(artifact_open(version))
    except ServiceError:
        raise
    except Exception:
        if not _in_store(version.artifact_uri):
            raise
        # The loaders check the recorded sha256: a damaged copy on this machine fails here, and
        # the store's copy replaces it. If that fails too, the stored model itself is bad.
        log.warning("the cached model of %s failed to load; fetching it again", version.arn)
        return load(artifact_open(version, refresh=True))


def artifact_copy(source: ModelVersion, target: ModelVersion) -> str:
    """Copy one version's artifact to another version's location; return the new artifact_uri
    (the sha256 stays the source's)."""
    if not source.artifact_uri:
        raise ValueError("the source version has no artifact")
    if _remote():
        location = store_location(target)
        store = storage.installation_store()
        with _store_errors("copied"):
            store.ensure_bucket(location.bucket)
            store.delete_prefix(location)
            if _in_store(source.artifact_uri):
                store.copy_prefix(
                    storage.parse_uri(source.artifact_uri, field="artifact_uri"), location
                )
            else:  # a model trained before the installation used an object store
                store.upload_folder(Path(source.artifact_uri), location, last=METADATA)
        return str(location)
    target_dir = local_dir(target)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.tmp-", dir=target_dir.parent))
    try:
        shutil.copytree(artifact_open(source), work / "model")
        os.rename(work / "model", target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return str(target_dir)


def artifact_location(version: ModelVersion) -> str:
    """What artifact_delete removes for this version (taken before the row goes): the version's
    own location, never whatever else its artifact_uri might point at."""
    return str(store_location(version)) if _remote() else str(local_dir(version))


def artifact_delete(location: str) -> None:
    """Remove an artifact given by artifact_location; failures are logged, not raised."""
    try:
        if _in_store(location):
            storage.installation_store().delete_prefix(
                storage.parse_uri(location, field="artifact_uri")
            )
        else:
            shutil.rmtree(location, ignore_errors=True)
    except Exception:  # the version is gone either way; what is left only takes room
        log.exception("removing a deleted version's model files failed")
