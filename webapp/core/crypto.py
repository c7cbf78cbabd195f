"""AES-256-GCM containers: one for small values (`seal`), a chunked one for large files (`seal_file`).

A small container is `TWGC` + version + 12-byte random nonce + ciphertext and tag; the header
is authenticated with the caller's `aad`, so a container cannot be opened as another kind or
under another context.

A file container is `TWGF` + version + chunk size + 7-byte random prefix, then the chunks, each
sealed on its own (plaintext chunk + 16-byte tag). A chunk's nonce is the prefix, the chunk's
4-byte counter and a last-chunk flag (the STREAM construction): reordering, dropping, repeating
or appending chunks, and cutting the file at a chunk boundary, all fail to open. Files of
hundreds of MB go through in bounded memory, and a plain output only appears, whole, when every
chunk has been checked.
"""

import contextlib
import os
import struct
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

_MAGIC = b"TWGC"
_VERSION = 1
_HEADER = _MAGIC + bytes([_VERSION])

_FILE_MAGIC = b"TWGF"
_FILE_VERSION = 1
_PREFIX_BYTES = 7
_FILE_HEADER = struct.Struct(f">4sBI{_PREFIX_BYTES}s")  # magic, version, chunk size, prefix
FILE_CHUNK_BYTES = 1 << 20
# A foreign or altered header must not make the reader allocate without bound.
_MAX_CHUNK_BYTES = 64 << 20
_MAX_CHUNKS = 1 << 32


class SealError(ValueError):
    """A container that does not open: a wrong key, altered or cut bytes, or not a container."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _cipher(key: bytes) -> AESGCM:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_BYTES:
        raise SealError(f"An AES-256 key is {KEY_BYTES} bytes.")
    return AESGCM(bytes(key))


def seal(key: bytes, plaintext: bytes, *, aad: bytes = b"") -> bytes:
    """Encrypt and authenticate `plaintext` under `key` into one self-describing container."""
    nonce = os.urandom(NONCE_BYTES)
    return _HEADER + nonce + _cipher(key).encrypt(nonce, bytes(plaintext), _HEADER + aad)


def unseal(key: bytes, blob: bytes, *, aad: bytes = b"") -> bytes:
    """The plaintext of a `seal` container; SealError when it does not open with this key and aad."""
    blob = bytes(blob)
    if len(blob) < len(_HEADER) + NONCE_BYTES + TAG_BYTES or not blob.startswith(_MAGIC):
        raise SealError("This is not a sealed container.")
    if blob[len(_MAGIC)] != _VERSION:
        raise SealError("This sealed container has an unknown version.")
    nonce = blob[len(_HEADER) : len(_HEADER) + NONCE_BYTES]
    body = blob[len(_HEADER) + NONCE_BYTES :]
    try:
        return _cipher(key).decrypt(nonce, body, _HEADER + aad)
    except InvalidTag:
        raise SealError("The sealed container does not open: wrong key or altered.") from None


def _chunk_nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    return prefix + struct.pack(">I", counter) + (b"\x01" if last else b"\x00")


def _replace_atomically(dst, write) -> None:
    """Write through a temporary file beside `dst`, and move it into place only when whole."""
    dst = Path(dst)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            write(out)
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def seal_file(key: bytes, src_path, dst_path, *, aad: bytes = b"") -> None:
    """Encrypt the file at `src_path` into a chunked container at `dst_path`."""
    cipher = _cipher(key)
    prefix = os.urandom(_PREFIX_BYTES)
    header = _FILE_HEADER.pack(_FILE_MAGIC, _FILE_VERSION, FILE_CHUNK_BYTES, prefix)

    def write(out):
        out.write(header)
        with open(src_path, "rb") as src:
            chunk = src.read(FILE_CHUNK_BYTES)
            counter = 0
            while True:
                following = src.read(FILE_CHUNK_BYTES)
                last = not following
                if counter >= _MAX_CHUNKS:
                    raise SealError("The file is too large to seal.")
                nonce = _chunk_nonce(prefix, counter, last)
                out.write(cipher.encrypt(nonce, chunk, header + aad))
                if last:
                    return
                chunk, counter = following, counter + 1

    _replace_atomically(dst_path, write)


def unseal_file(key: bytes, src_path, dst_path, *, aad: bytes = b"") -> None:
    """Decrypt a `seal_file` container; `dst_path` appears only when every chunk checked out."""
    cipher = _cipher(key)

    def write(out):
        with open(src_path, "rb") as src:
            header = src.read(_FILE_HEADER.size)
            if len(header) < _FILE_HEADER.size:
                raise SealError("This is not a sealed file.")
            magic, version, chunk_bytes, prefix = _FILE_HEADER.unpack(header)
            if magic != _FILE_MAGIC:
                raise SealError("This is not a sealed file.")
            if version != _FILE_VERSION:
                raise SealError("This sealed file has an unknown version.")
            if not 0 < chunk_bytes <= _MAX_CHUNK_BYTES:
                raise SealError("This sealed file has a damaged header.")
            size = chunk_bytes + TAG_BYTES
            chunk = src.read(size)
            counter = 0
            while True:
                following = src.read(size)
                last = not following
                if counter >= _MAX_CHUNKS:
                    raise SealError("This sealed file has too many chunks.")
                try:
                    plain = cipher.decrypt(_chunk_nonce(prefix, counter, last), chunk, header + aad)
                except InvalidTag:
                    raise SealError(
                        "The sealed file does not open: wrong key, altered or cut short."
                    ) from None
                out.write(plain)
                if last:
                    return
                chunk, counter = following, counter + 1

    _replace_atomically(dst_path, write)
