"""Object storage by URI, per account.

By default `s3://bucket/key` used by account N is the file `$DATA_ROOT/s3/N/bucket/key`: every
account has its own buckets, as separate AWS accounts do. With S3_ENDPOINT_URL set, URIs go to
that S3-compatible service through boto3; an account listed in S3_ACCOUNT_CREDENTIALS uses its own
credentials and bucket names as given, any other account's bucket `b` becomes `<account>-b` on the
shared credentials, so no account can reach another's objects through a URI.
"""

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from webapp.core.errors import invalid_request, validation_error

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
MAX_URI = 1024


@dataclass(frozen=True)
class S3Uri:
    bucket: str
    key: str  # may be "" (the whole bucket) or end in "/" (a folder)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    def join(self, *parts: str) -> "S3Uri":
        key = self.key.rstrip("/")
        extra = "/".join(p.strip("/") for p in parts if p)
        return S3Uri(self.bucket, f"{key}/{extra}" if key else extra)


def parse_uri(value, *, field: str) -> S3Uri:
    """Parse `s3://bucket/key`, raising ValidationException that names `field`."""
    if not isinstance(value, str) or not value.startswith("s3://") or len(value) > MAX_URI:
        raise validation_error(
            f"Value '{value}' at '{field}' failed to satisfy constraint: must be an S3 URI "
            "such as s3://bucket/path (at most 1024 characters).",
            field=field,
        )
    bucket, _, key = value[len("s3://") :].partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise validation_error(
            f"Value '{value}' at '{field}': '{bucket}' is not a valid bucket name (3 to 63 "
            "lower-case letters, digits, dots and hyphens).",
            field=field,
        )
    parts = key.split("/")
    if any(p in (".", "..") for p in parts) or "\\" in key or "\x00" in key:
        raise validation_error(
            f"Value '{value}' at '{field}': the key may not contain '.' or '..' segments.",
            field=field,
        )
    return S3Uri(bucket, key)


class _LocalStore:
    """The embedded object store: plain files under $DATA_ROOT/s3/<account>/."""

    def __init__(self, account_id: str):
        self.root = Path(settings.DATA_ROOT) / "s3" / account_id

    def _bucket_root(self, uri: S3Uri) -> Path:
        folder = self.root / uri.bucket
        # A linked bucket (or account) folder would lead into whatever it points at, another
        # account's store included: both are plain folders or nothing.
        if self.root.is_symlink():
            raise invalid_request(
                "This account's store cannot be used: its folder is a link, which the store "
                "does not follow."
            )
        if folder.is_symlink():
            raise invalid_request(
                f"The bucket {uri.bucket} cannot be used: its folder is a link, which the "
                "store does not follow."
            )
        return self.root.resolve() / uri.bucket

    def _contained(self, uri: S3Uri, bucket_root: Path, path: Path) -> Path:
        # Checked after resolving, so a link anywhere below the bucket cannot lead out of it.
        if path != bucket_root and bucket_root not in path.parents:
            raise invalid_request(f"{uri} is a link that leads outside its bucket.")
        return path

    def path(self, uri: S3Uri) -> Path:
        bucket_root = self._bucket_root(uri)
        return self._contained(uri, bucket_root, (bucket_root / uri.key).resolve())

    def is_object(self, uri: S3Uri) -> bool:
        bucket_root = self._bucket_root(uri)
        path = self.path(uri)
        # A file at the key or at any folder above it: nothing can be written below it.
        return any(p.is_file() for p in (path, *path.parents) if bucket_root in p.parents)

    def open_read(self, uri: S3Uri):
        path = self.path(uri)
        if not path.is_file():
            raise invalid_request(f"The object {uri} does not exist.")
        try:
            return path.open("rb")
        except OSError as exc:
            raise _unreadable(uri, exc) from None

    @contextlib.contextmanager
    def open_write(self, uri: S3Uri):
        path = self.path(uri)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        except OSError as exc:
            raise _unwritable(uri, exc) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                yield handle
            os.replace(tmp, path)  # readers see the whole object or none of it
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise _unwritable(uri, exc) from None
            raise

    def list_files(self, uri: S3Uri) -> list[tuple[S3Uri, int]]:
        bucket_root = self._bucket_root(uri)
        path = self.path(uri)
        if path.is_file():
            return [(uri, path.stat().st_size)]
        # A prefix: everything below the folder it names, or files starting with its last part.
        base = path if path.is_dir() else path.parent
        if not base.is_dir():
            return []
        found = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".tmp-"))
            for name in sorted(filenames):
                if name.startswith(".tmp-"):
                    continue
                full = Path(dirpath) / name
                key = full.relative_to(bucket_root).as_posix()
                if key.startswith(uri.key) or path.is_dir():
                    item = S3Uri(uri.bucket, key)
                    # A linked file is listed only if what it points at is in the bucket.
                    self._contained(item, bucket_root, full.resolve())
                    try:
                        found.append((item, full.stat().st_size))
                    except FileNotFoundError:  # a link to nothing, or gone since the walk
                        continue
                    except OSError as exc:
                        raise _unreadable(item, exc) from None
        return found

    def delete_prefix(self, uri: S3Uri) -> None:
        path = self.path(uri)
        try:
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        except OSError as exc:
            raise _unwritable(uri, exc) from None


def _unreadable(uri: S3Uri, exc: OSError):
    # strerror only: the exception's own text carries the server path.
    return invalid_request(f"The object {uri} could not be read ({exc.strerror or 'I/O error'}).")


def _unwritable(uri: S3Uri, exc: OSError):
    reason = exc.strerror or "I/O error"
    if isinstance(exc, NotADirectoryError | FileExistsError):
        reason = "an object in its path is a file, not a folder"
    return invalid_request(f"{uri} could not be written ({reason}).")


class _S3Store:
    """Any S3-compatible service, through boto3."""

    def __init__(self, account_id: str | None):
        import boto3

        # No account: the installation's own buckets, on the shared credentials, names as given.
        own = settings.S3_ACCOUNT_CREDENTIALS.get(account_id) if account_id else None
        default_prefix = "" if own or account_id is None else f"{account_id}-"
        self.bucket_prefix = (own or {}).get("bucket_prefix", default_prefix)
        self.client = boto3.client(
            "s3",
            endpoint_url=settings.S3_ENDPOINT_URL,
            region_name=settings.AWS_REGION,
            aws_access_key_id=(own or {}).get("access_key_id") or settings.S3_ACCESS_KEY_ID or None,
            aws_secret_access_key=(own or {}).get("secret_access_key")
            or settings.S3_SECRET_ACCESS_KEY
            or None,
        )

    def _bucket(self, uri: S3Uri) -> str:
        return self.bucket_prefix + uri.bucket

    def open_read(self, uri: S3Uri):
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self._bucket(uri), Key=uri.key)["Body"]
        except ClientError as exc:
            raise invalid_request(
                f"The object {uri} could not be read: {exc.response['Error'].get('Code')}."
            ) from None

    @contextlib.contextmanager
    def open_write(self, uri: S3Uri):
        with tempfile.TemporaryFile() as handle:
            yield handle
            handle.seek(0)
            self.client.upload_fileobj(handle, self._bucket(uri), uri.key)

    def is_object(self, uri: S3Uri) -> bool:
        from botocore.exceptions import ClientError

        if not uri.key or uri.key.endswith("/"):
            return False
        try:
            self.client.head_object(Bucket=self._bucket(uri), Key=uri.key)
        except ClientError:
            return False
        return True

    def list_files(self, uri: S3Uri) -> list[tuple[S3Uri, int]]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket(uri), Prefix=uri.key):
            for obj in page.get("Contents", []):
                if not obj["Key"].endswith("/"):
                    found.append((S3Uri(uri.bucket, obj["Key"]), obj["Size"]))
        return found

    def delete_prefix(self, uri: S3Uri) -> None:
        for item, _ in self.list_files(uri):
            self.client.delete_object(Bucket=self._bucket(item), Key=item.key)

    def ensure_bucket(self, bucket: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket_prefix + bucket)
        except ClientError:
            with contextlib.suppress(
                self.client.exceptions.BucketAlreadyOwnedByYou,
                self.client.exceptions.BucketAlreadyExists,
            ):
                self.client.create_bucket(Bucket=self.bucket_prefix + bucket)

    def upload_folder(self, folder: Path, uri: S3Uri, *, last: str = "") -> None:
        files = sorted(p for p in Path(folder).rglob("*") if p.is_file())
        # The file named `last` goes up after everything it describes.
        files.sort(key=lambda p: p.relative_to(folder).as_posix() == last)
        for path in files:
            item = uri.join(path.relative_to(folder).as_posix())
            self.client.upload_file(str(path), self._bucket(item), item.key)

    def download_folder(self, uri: S3Uri, folder: Path) -> int:
        prefix = uri.key if uri.key.endswith("/") else uri.key + "/"
        count = 0
        for item, _ in self.list_files(S3Uri(uri.bucket, prefix)):
            relative = item.key[len(prefix) :]
            if not relative or any(p in ("", ".", "..") for p in relative.split("/")):
                continue  # nothing outside the folder, whatever the keys say
            target = Path(folder) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            self.client.download_file(self._bucket(item), item.key, str(target))
            count += 1
        return count

    def copy_prefix(self, source: S3Uri, target: S3Uri) -> int:
        """Copy every object under one folder to another, inside the service."""
        src = source.key if source.key.endswith("/") else source.key + "/"
        count = 0
        for item, _ in self.list_files(S3Uri(source.bucket, src)):
            dest = target.join(item.key[len(src) :])
            self.client.copy(
                {"Bucket": self._bucket(item), "Key": item.key}, self._bucket(dest), dest.key
            )
            count += 1
        return count


def store_for(account_id: str):
    return _S3Store(account_id) if settings.S3_ENDPOINT_URL else _LocalStore(account_id)


def installation_store() -> _S3Store:
    """The S3 service's buckets of the installation itself (shared credentials, no account's
    prefix): for what no account reaches by URI, such as trained models."""
    return _S3Store(None)


def open_read(account_id: str, uri: S3Uri):
    """A binary stream of one object."""
    return store_for(account_id).open_read(uri)


def open_write(account_id: str, uri: S3Uri):
    """A context manager giving a binary stream; the object appears whole when it closes."""
    return store_for(account_id).open_write(uri)


def list_files(account_id: str, uri: S3Uri) -> list[tuple[S3Uri, int]]:
    """The object the URI names, or every object under the prefix it names, in key order."""
    return sorted(store_for(account_id).list_files(uri), key=lambda item: item[0].key)


def exists(account_id: str, uri: S3Uri) -> bool:
    return bool(list_files(account_id, uri))


def delete_prefix(account_id: str, uri: S3Uri) -> None:
    store_for(account_id).delete_prefix(uri)


def check_output_location(account_id: str, value, *, field: str) -> S3Uri:
    """Parse an output location, refusing one that names an existing object (not a folder)."""
    uri = parse_uri(value, field=field)
    if store_for(account_id).is_object(uri):
        raise validation_error(
            f"Value '{value}' at '{field}' failed to satisfy constraint: it names an existing "
            f"object; give a folder (prefix) such as s3://{uri.bucket}/output/.",
            field=field,
        )
    return uri


def save_upload(account_id: str, uri: S3Uri, fileobj) -> S3Uri:
    """Store an uploaded file at `uri` (used by console forms that accept a file)."""
    with open_write(account_id, uri) as handle:
        shutil.copyfileobj(fileobj, handle, length=1024 * 1024)
    return uri


def local_path(account_id: str, uri: S3Uri) -> Path | None:
    """The file behind a URI in the embedded store (None on S3), for direct downloads."""
    store = store_for(account_id)
    return store.path(uri) if isinstance(store, _LocalStore) else None
