"""AES-256-GCM containers: one for small values (`seal`), a chunked one for large files (`seal_file`).

A small container is `TWGC` + version + 12-byte random nonce + ciphertext and tag; the header
is authenticated with the caller's `aad`, so a container cannot be opened as another kind or
under another context.

A file container is `TWGF` + version + chunk size + 7-byte random prefix, then the chunks, each
sealed on its own (plaintext chunk + 16-byte tag). A chunk's nonce is the prefix, the chunk's
4-byte counter and a last-chunk flag (the STREAM construction): reordering, dropping, repeating
or appending chunks, and cutting the file at a chunk boundary, all fail to open. Files of
hundreds of MB go through in bounded memory, and a plain output only appears, whole, when every
chunk has been checked. `sealing` and `SealedReader` do the same as a stream, for callers that
produce or consume the plaintext piecewise (a tar written or extracted on the fly); a reader's
caller must call `read_to_end` before trusting what it read, since only the last chunk proves
nothing was cut off. `unseal_file_to_memory` opens a container straight into one buffer in
memory, for callers that need the plaintext whole and would otherwise copy it from a stream.
"""

import contextlib
import io
import mmap
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
# 4 MiB: AES-GCM runs about 1.5x faster than with 1 MiB chunks and the memory it holds stays
# small. The size is in each container's header, so containers sealed with 1 MiB still open.
FILE_CHUNK_BYTES = 4 << 20
# A foreign or altered header must not make the reader allocate without bound.
_MAX_CHUNK_BYTES = 64 << 20
_MAX_CHUNKS = 1 << 32
_LARGE_BUFFER_BYTES = 4 << 20


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


@contextlib.contextmanager
def _atomic_output(dst):
    """A file open for writing beside `dst`, moved into place only when the block ends cleanly."""
    dst = Path(dst)
    fd, tmp = tempfile.mkstemp(dir=dst.parent, prefix=f".{dst.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class _SealingWriter(io.RawIOBase):
    """Seals what is written to it into chunks; the last chunk is held back until `finish`."""

    def __init__(self, cipher: AESGCM, out, prefix: bytes, aad: bytes, chunk_bytes: int):
        self._cipher, self._out, self._prefix, self._aad = cipher, out, prefix, aad
        self._chunk_bytes = chunk_bytes
        self._pending = bytearray()
        self._counter = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._pending += data
        # Strictly more than a chunk: what may turn out to be the last one is kept back.
        while len(self._pending) > self._chunk_bytes:
            self._emit(bytes(self._pending[: self._chunk_bytes]), last=False)
            del self._pending[: self._chunk_bytes]
        return len(data)

    def _emit(self, chunk: bytes, *, last: bool) -> None:
        if self._counter >= _MAX_CHUNKS:
            raise SealError("The file is too large to seal.")
        nonce = _chunk_nonce(self._prefix, self._counter, last)
        self._out.write(self._cipher.encrypt(nonce, chunk, self._aad))
        self._counter += 1

    def finish(self) -> None:
        self._emit(bytes(self._pending), last=True)
        self._pending = bytearray()


@contextlib.contextmanager
def sealing(key: bytes, dst_path, *, aad: bytes = b""):
    """A writable file whose bytes are sealed into a chunked container at `dst_path`; the
    container appears only when the block ends without an error."""
    cipher = _cipher(key)
    prefix = os.urandom(_PREFIX_BYTES)
    header = _FILE_HEADER.pack(_FILE_MAGIC, _FILE_VERSION, FILE_CHUNK_BYTES, prefix)
    with _atomic_output(dst_path) as out:
        out.write(header)
        writer = _SealingWriter(cipher, out, prefix, header + aad, FILE_CHUNK_BYTES)
        yield writer
        writer.finish()


def seal_file(key: bytes, src_path, dst_path, *, aad: bytes = b"") -> None:
    """Encrypt the file at `src_path` into a chunked container at `dst_path`."""
    with sealing(key, dst_path, aad=aad) as out, open(src_path, "rb") as src:
        for chunk in iter(lambda: src.read(FILE_CHUNK_BYTES), b""):
            out.write(chunk)


def _read_full(src, buffer: bytearray) -> int:
    """Fill `buffer` from `src` as far as the file goes; the number of bytes read."""
    view, filled = memoryview(buffer), 0
    while filled < len(buffer):
        got = src.readinto(view[filled:])
        if not got:
            break
        filled += got
    return filled


def _plain_chunks(key: bytes, src, aad: bytes, *, into=None):
    """The authenticated plaintext chunks of the container open in `src`, in order; SealError as
    soon as one does not open, including a last chunk that is missing. Each chunk is a view of
    one reused buffer, valid until the next is asked for (decrypting into it, rather than into
    a new 4 MiB object a chunk, saves a third of the time). With `into(chunk_bytes)`, which
    returns a writable buffer for the whole plaintext, each chunk is decrypted into its place
    in that buffer instead."""
    cipher = _cipher(key)
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
    chunk, following = bytearray(size), bytearray(size)
    whole = None if into is None else memoryview(into(chunk_bytes))
    plain = bytearray(chunk_bytes) if whole is None else None
    filled = _read_full(src, chunk)
    counter = 0
    while True:
        # One chunk read ahead: only the end of the file says which chunk is the last.
        following_filled = _read_full(src, following)
        last = following_filled == 0
        if counter >= _MAX_CHUNKS:
            raise SealError("This sealed file has too many chunks.")
        if filled < TAG_BYTES:
            raise SealError("The sealed file does not open: wrong key, altered or cut short.")
        if whole is None:
            out = memoryview(plain)[: filled - TAG_BYTES]
        else:
            # Chunks before the last are full, so each one's place follows from its counter.
            start = counter * chunk_bytes
            out = whole[start : start + filled - TAG_BYTES]
            if len(out) != filled - TAG_BYTES:
                raise SealError("The sealed file does not open: altered or cut short.")
        try:
            cipher.decrypt_into(
                _chunk_nonce(prefix, counter, last),
                memoryview(chunk)[:filled],
                header + aad,
                out,
            )
        except InvalidTag:
            raise SealError(
                "The sealed file does not open: wrong key, altered or cut short."
            ) from None
        yield out
        if last:
            return
        chunk, following = following, chunk
        filled, counter = following_filled, counter + 1


class SealedReader(io.RawIOBase):
    """The plaintext of a `seal_file` container as a readable file, one authenticated chunk at a
    time. Bytes read before the end are authentic but may be a cut-off prefix: only
    `read_to_end` (or reading until b"") proves the container was whole."""

    def __init__(self, key: bytes, src_path, *, aad: bytes = b""):
        self._src = open(src_path, "rb")
        self._chunks = _plain_chunks(key, self._src, aad)
        self._chunk = b""
        self._pos = 0
        self._done = False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return b"".join(iter(lambda: self.read(1 << 30), b""))
        while self._pos >= len(self._chunk):
            if self._done:
                return b""
            try:
                self._chunk, self._pos = next(self._chunks), 0
            except StopIteration:
                self._done = True
                self._chunk, self._pos = b"", 0
        # A copy: the chunk's buffer is reused for the next one.
        piece = bytes(self._chunk[self._pos : self._pos + size])
        self._pos += len(piece)
        return piece

    def readinto(self, buffer) -> int:
        piece = self.read(len(buffer))
        buffer[: len(piece)] = piece
        return len(piece)

    def read_to_end(self) -> None:
        """Authenticate everything not read yet, through the last chunk; SealError if the
        container does not open whole."""
        while not self._done:
            self._pos = len(self._chunk)
            self.read(1)

    def close(self) -> None:
        self._chunks.close()
        self._chunk = b""
        self._src.close()
        super().close()


def _large_buffer(size: int):
    """A zeroed, writable buffer of `size` bytes. Large ones are anonymous memory asking for huge
    pages (as numpy asks for its large arrays): a bytearray of a model's size spends longer
    faulting in and zeroing 4 KiB pages than AES-GCM takes to decrypt into them."""
    advice = getattr(mmap, "MADV_HUGEPAGE", None)
    if size < _LARGE_BUFFER_BYTES or advice is None:
        return bytearray(size)
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    with contextlib.suppress(OSError):  # only advice: a kernel without huge pages still serves
        buffer.madvise(advice)
    return buffer


def unseal_file_to_memory(key: bytes, src_path, *, aad: bytes = b"") -> memoryview:
    """The whole plaintext of a `seal_file` container, read-only, each chunk decrypted straight
    into its place in one buffer (no copy of the plaintext is ever made); SealError unless every
    chunk, through the last, opens. Nothing is returned before the whole container checked out."""
    with open(src_path, "rb") as src:
        body = os.fstat(src.fileno()).st_size - _FILE_HEADER.size
        made = []

        def buffer(chunk_bytes: int):
            # The plaintext's size follows from the file's: a chunk and its tag per chunk, the
            # last one maybe shorter. A file cut or padded fails to open, whatever this says.
            chunks = max(1, -(-body // (chunk_bytes + TAG_BYTES)))
            made.append(_large_buffer(max(0, body - chunks * TAG_BYTES)))
            return made[0]

        end = 0
        for piece in _plain_chunks(key, src, aad, into=buffer):
            end += len(piece)
        if not made or end != len(made[0]):
            raise SealError("The sealed file does not open: altered or cut short.")
        return memoryview(made[0]).toreadonly()


def unseal_file(key: bytes, src_path, dst_path, *, aad: bytes = b"") -> None:
    """Decrypt a `seal_file` container; `dst_path` appears only when every chunk checked out."""
    with _atomic_output(dst_path) as out, open(src_path, "rb") as src:
        for plain in _plain_chunks(key, src, aad):
            out.write(plain)
