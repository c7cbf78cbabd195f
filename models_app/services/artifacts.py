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

A version with a model key (ModelKmsKeyId) keeps its artifact as one AES-256-GCM container,
`model.sealed` (the folder as a tar, sealed with a data key of its own; the data key is kept on the
row, wrapped by the account's key). Its plain files exist only in a private temporary folder while
a model is loaded or copied, never in the cache; a disabled key stops it opening. The container is
decrypted straight into the tar extraction, chunk by chunk, with no plain archive in between, and
the folder is given to the loader only once the last chunk has authenticated: every file in it is
then proven to be the one sealed, and the loaders need not hash it again (`verified`). A kind whose
loader takes its files in memory (`kinds.Kind.loads_from_memory`) skips the folder: the tar is
decrypted into a mapping of file name to bytes, handed over on the same condition, so an encrypted
model is neither written out nor read back to be loaded.
"""

import contextlib
import hashlib
import logging
import os
import re
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from django.conf import settings

from models_app import kinds
from models_app.ml import artifacts as ml_artifacts
from models_app.models import ModelVersion
from webapp.accounts.models import EncryptionKey
from webapp.accounts.services import keys
from webapp.core import crypto, storage
from webapp.core.errors import ServiceError

log = logging.getLogger(__name__)

CACHE_FOLDER = "artifact-cache"
# Uploaded after every file it describes (both kinds of artifact have one).
METADATA = "metadata.json"
SEALED = "model.sealed"  # the one file of an encrypted artifact
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
    if version.model_key_id is not None:
        return _write_sealed(version, save)
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


# Linux's memory-backed file system (tmpfs). Chosen on its own, with no setting: plain files of an
# encrypted model kept there never reach a persistent disk (nor survive a reboot), and writing
# them costs no disk I/O. Only when it has room to spare (containers often give it just 64 MB)
# and is writable; otherwise, and on systems without it, the temporary folder serves.
_MEMORY_FS = Path("/dev/shm")
_MEMORY_FS_SPARE = 64 << 20


def _memory_fs_for(size: int) -> Path | None:
    try:
        stat = os.statvfs(_MEMORY_FS)
    except OSError:
        return None
    if not os.access(_MEMORY_FS, os.W_OK | os.X_OK):
        return None
    # Twice the size: another model may be opening there at the same time.
    if stat.f_bavail * stat.f_frsize < 2 * size + _MEMORY_FS_SPARE:
        return None
    return _MEMORY_FS


def _private_dir(prefix: str, *, plain_bytes: int | None = None) -> Path:
    """A new folder only this process's user can read (mkdtemp makes it 0700); on the
    memory-backed file system when it will hold `plain_bytes` of plain model files and has room."""
    root = _memory_fs_for(plain_bytes) if plain_bytes is not None else None
    return Path(tempfile.mkdtemp(prefix=f"textwheel-{prefix}-", dir=root))


def _artifact_aad(version: ModelVersion) -> bytes:
    # A container opens only as the artifact of the version it was written for.
    return f"textwheel-model-artifact:{version.pk}".encode()


def _key_of(version: ModelVersion) -> EncryptionKey:
    # Read afresh: whether the key is enabled must be decided now, not when the row was loaded.
    return EncryptionKey.objects.select_related("account").get(pk=version.model_key_id)


def _seal_into(version: ModelVersion, plain: Path) -> str:
    """Seal the plain folder as the version's artifact; record its wrapped data key; return the
    artifact_uri."""
    data_key = crypto.new_data_key()
    wrapped = keys.data_key_wrap(_key_of(version), data_key)
    work = _private_dir("seal")  # only the sealed container: it is renamed into place from here
    try:
        sealed = work / "sealed"
        sealed.mkdir()
        # The tar goes straight into the cipher: no plain archive is ever written.
        with (
            crypto.sealing(data_key, sealed / SEALED, aad=_artifact_aad(version)) as out,
            tarfile.open(fileobj=out, mode="w|", bufsize=crypto.FILE_CHUNK_BYTES) as tar,
        ):
            for path in sorted(plain.rglob("*")):
                tar.add(path, arcname=path.relative_to(plain).as_posix(), recursive=False)
        if _remote():
            location = store_location(version)
            store = storage.installation_store()
            with _store_errors("stored"):
                store.ensure_bucket(location.bucket)
                store.delete_prefix(location)
                store.upload_folder(sealed, location)
            uri = str(location)
        else:
            target = local_dir(version)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():  # a retried training starts from nothing
                shutil.rmtree(target)
            os.rename(sealed, target)
            uri = str(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    version.data_key_wrapped = wrapped
    ModelVersion.objects.filter(pk=version.pk).update(data_key_wrapped=wrapped)
    return uri


def _write_sealed(version: ModelVersion, save: Callable[[Path], str]) -> tuple[str, str]:
    work = _private_dir("write")
    try:
        folder = work / "model"
        sha256 = save(folder)
        return _seal_into(version, folder), sha256
    finally:
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def artifact_unsealed(version: ModelVersion) -> Iterator[Path]:
    """The plain folder of a version's artifact for the duration of the block.

    An encrypted artifact is opened into a private temporary folder, removed afterwards; a
    disabled key raises ResourceUnavailableException naming it. A container that does not open
    whole raises SealError and leaves no folder behind. A plain one is artifact_open's.
    """
    if version.model_key_id is None:
        yield artifact_open(version)
        return
    with _sealed_container(version) as (data_key, sealed):
        work = _private_dir("open", plain_bytes=sealed.stat().st_size)
        try:
            folder = work / "model"
            _unseal_into(data_key, sealed, folder, aad=_artifact_aad(version))
            yield folder
        finally:
            shutil.rmtree(work, ignore_errors=True)


def artifact_in_memory(version: ModelVersion) -> ml_artifacts.ModelFiles:
    """The files of a version's encrypted artifact, decrypted into memory (never onto a file
    system). A disabled key raises ResourceUnavailableException naming it; a container that does
    not open whole raises SealError, and none of its files are returned."""
    if version.model_key_id is None:
        raise ValueError("only an encrypted artifact is opened into memory")
    with _sealed_container(version) as (data_key, sealed):
        return _unseal_to_memory(data_key, sealed, aad=_artifact_aad(version))


@contextlib.contextmanager
def _sealed_container(version: ModelVersion) -> Iterator[tuple[bytes, Path]]:
    """The data key of a version's encrypted artifact and a local path of its container (fetched
    from the store into a temporary folder, removed after the block, when it lives there)."""
    if not bytes(version.data_key_wrapped or b""):
        raise ValueError("the version records no data key for its encrypted artifact")
    data_key = keys.data_key_unwrap(_key_of(version), version.data_key_wrapped)
    uri = version.artifact_uri
    if not _in_store(uri):
        yield data_key, Path(uri) / SEALED
        return
    # The container is ciphertext: it may sit on disk, away from the plain files.
    download = Path(tempfile.mkdtemp(prefix="textwheel-fetch-"))
    try:
        found = storage.installation_store().download_folder(
            storage.parse_uri(uri, field="artifact_uri"), download
        )
        if not found:
            raise FileNotFoundError("the stored model has no files")
        yield data_key, download / SEALED
    finally:
        shutil.rmtree(download, ignore_errors=True)


def _unseal_into(data_key: bytes, sealed: Path, folder: Path, *, aad: bytes) -> None:
    """Extract a sealed tar into `folder` as it is decrypted; SealError, with `folder` removed,
    unless the container authenticates whole, through its last chunk."""
    try:
        with crypto.SealedReader(data_key, sealed, aad=aad) as plain:
            # 64 KiB reads and copies: tarfile's stream buffer re-slices what it holds on every
            # read, so larger reads cost more than they save (16 KiB copies, its default, too).
            with tarfile.open(
                fileobj=plain, mode="r|", bufsize=64 << 10, copybufsize=64 << 10
            ) as tar:
                tar.extractall(folder, filter="data")
            # The tar ends before the container does (padding, and maybe the last chunk):
            # a container cut short has authentic chunks up to the cut, so only the rest,
            # through the last-chunk flag, says whether anything is missing.
            plain.read_to_end()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def _unseal_to_memory(data_key: bytes, sealed: Path, *, aad: bytes) -> ml_artifacts.ModelFiles:
    """The regular files of a sealed tar, by name, as views of its plaintext in memory; SealError
    unless the container authenticates whole, through its last chunk, before its tar is read."""
    # Decrypted whole first, each chunk into its place in one buffer: the members are then views
    # of it, never copied. (Reading them from tarfile's stream copies each member two or three
    # times, which cost more than decrypting the model.)
    plain = crypto.unseal_file_to_memory(data_key, sealed, aad=aad)
    files: dict[str, memoryview] = {}
    with tarfile.open(fileobj=_BufferFile(plain), mode="r:") as tar:
        for member in tar:  # reads the headers only
            if member.isdir():
                continue
            if not member.isfile() or member.issparse() or member.name in files:
                raise crypto.SealError("The sealed model holds something other than files.")
            end = member.offset_data + member.size
            if end > len(plain):
                raise crypto.SealError("The sealed model's archive is cut short.")
            files[member.name] = plain[member.offset_data : end]
    return ml_artifacts.ModelFiles(files, label="the decrypted model")


class _BufferFile:
    """A read-only, seekable file over a buffer in memory (what tarfile needs to list a tar)."""

    def __init__(self, buffer: memoryview):
        self._buffer, self._pos = buffer, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._buffer) if size is None or size < 0 else self._pos + size
        piece = bytes(self._buffer[self._pos : end])
        self._pos += len(piece)
        return piece

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self._pos, os.SEEK_END: len(self._buffer)}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos


def files_digest(folder: Path) -> str:
    """One sha256 over every file's relative path and bytes: equal only for identical folders."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    return digest.hexdigest()


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


def artifact_load(version: ModelVersion, load: Callable[..., object]):
    """load(folder, verified=...) on the version's artifact; a cached copy that fails is fetched
    once more. verified=True says the files were just authenticated by decryption (a sealed
    artifact), so the loader may skip hashing them; plain files get verified=False. A sealed
    artifact of a kind that loads_from_memory is given as its ModelFiles instead of a folder."""
    if version.model_key_id is not None:
        if kinds.get(version.model.kind).loads_from_memory:
            return load(artifact_in_memory(version), verified=True)
        with artifact_unsealed(version) as folder:
            return load(folder, verified=True)
    try:
        return load(artifact_open(version), verified=False)
    except ServiceError:
        raise
    except Exception:
        if not _in_store(version.artifact_uri):
            raise
        # The loaders check the recorded sha256: a damaged copy on this machine fails here, and
        # the store's copy replaces it. If that fails too, the stored model itself is bad.
        log.warning("the cached model of %s failed to load; fetching it again", version.arn)
        return load(artifact_open(version, refresh=True), verified=False)


def artifact_copy(source: ModelVersion, target: ModelVersion) -> str:
    """Copy one version's artifact to another version's location; return the new artifact_uri
    (the sha256 stays the source's).

    The plain files are copied byte for byte; an encrypted source is opened with its key, and a
    target with a model key gets a container of its own (and its own data key). The copy is read
    back and its files compared with the source's before this returns.
    """
    if not source.artifact_uri:
        raise ValueError("the source version has no artifact")
    if source.model_key_id is None and target.model_key_id is None:
        uri = _copy_plain(source, target)
        with artifact_unsealed(source) as plain:
            expected = files_digest(plain)
    else:
        with artifact_unsealed(source) as plain:
            expected = files_digest(plain)
            if target.model_key_id is not None:
                uri = _seal_into(target, plain)
            else:
                uri = _place_plain(plain, target)
    copied = ModelVersion(
        pk=target.pk,
        account=target.account,
        model=target.model,
        artifact_uri=uri,
        artifact_sha256=source.artifact_sha256,
        model_key_id=target.model_key_id,
        data_key_wrapped=target.data_key_wrapped,
    )
    if _in_store(uri) and target.model_key_id is None:
        _evict(cache_root() / source.artifact_sha256)  # read the copy itself, not the cache
    with artifact_unsealed(copied) as plain:
        if files_digest(plain) != expected:
            raise ServiceError(
                "InternalServerException",
                "The copied model's files differ from the source's; the copy was not kept.",
                500,
            )
    return uri


def _place_plain(plain: Path, target: ModelVersion) -> str:
    """Store a plain folder as a version's (unencrypted) artifact."""
    if _remote():
        location = store_location(target)
        store = storage.installation_store()
        with _store_errors("copied"):
            store.ensure_bucket(location.bucket)
            store.delete_prefix(location)
            store.upload_folder(plain, location, last=METADATA)
        return str(location)
    target_dir = local_dir(target)
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.tmp-", dir=target_dir.parent))
    try:
        shutil.copytree(plain, work / "model")
        os.rename(work / "model", target_dir)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return str(target_dir)


def _copy_plain(source: ModelVersion, target: ModelVersion) -> str:
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
    return _place_plain(artifact_open(source), target)


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
