"""Training and test data read from storage: every object under a URI, hashed as it streams."""

import hashlib
import io
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from webapp.core import storage
from webapp.core.errors import invalid_request


class HashingReader(io.RawIOBase):
    """A binary stream that feeds every byte it hands out into a running sha256."""

    def __init__(self, raw, digest):
        self.raw = raw
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        chunk = self.raw.read(len(buffer))
        if not chunk:
            return 0
        self.digest.update(chunk)
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def close(self):
        try:
            self.raw.close()
        finally:
            super().close()


@contextmanager
def objects(account_id: str, uri_text: str, digest) -> Iterator[list[tuple[str, object]]]:
    """Open every object the URI names (one file or a prefix) as buffered, hashing streams."""
    uri = storage.parse_uri(uri_text, field="S3Uri")
    found = storage.list_files(account_id, uri)
    if not found:
        raise invalid_request(f"No objects found at {uri_text}.")
    streams = []
    try:
        for item, _size in found:
            raw = HashingReader(storage.open_read(account_id, item), digest)
            streams.append((item.key.rsplit("/", 1)[-1], io.BufferedReader(raw, 1024 * 1024)))
        yield streams
    finally:
        for _, stream in streams:
            stream.close()


def new_digest():
    return hashlib.sha256()


def write_tar_gz(account_id: str, uri: storage.S3Uri, members: dict[str, bytes]) -> None:
    """Write an output.tar.gz holding the given files, all at once or not at all."""
    with tempfile.TemporaryFile() as buffer:
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for name, data in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        buffer.seek(0)
        storage.save_upload(account_id, uri, buffer)
