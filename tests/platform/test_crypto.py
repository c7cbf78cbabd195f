"""AES-256-GCM containers: what they open with, and that every change to their bytes is caught."""

import os

import pytest

from webapp.core import crypto
from webapp.core.crypto import SealError, new_data_key, seal, seal_file, unseal, unseal_file

PLAIN = b"The quick brown fox jumps over the lazy dog. " * 40


def test_it_round_trips_a_value():
    key = new_data_key()
    assert len(key) == 32
    blob = seal(key, PLAIN, aad=b"ctx")
    assert unseal(key, blob, aad=b"ctx") == PLAIN
    assert unseal(key, seal(key, b"")) == b""


def test_it_hides_the_plaintext_and_never_repeats_a_container():
    key = new_data_key()
    blob = seal(key, PLAIN)
    assert PLAIN[:16] not in blob and b"quick brown" not in blob
    assert seal(key, PLAIN) != blob  # a fresh nonce every time


def test_it_refuses_a_wrong_key_or_another_context():
    blob = seal(new_data_key(), PLAIN, aad=b"version-1")
    with pytest.raises(SealError):
        unseal(new_data_key(), blob, aad=b"version-1")
    key = new_data_key()
    blob = seal(key, PLAIN, aad=b"version-1")
    with pytest.raises(SealError):
        unseal(key, blob, aad=b"version-2")


@pytest.mark.parametrize("position", [0, 4, 5, 10, 17, 100, -1])
def test_it_refuses_any_changed_byte(position):
    key = new_data_key()
    blob = bytearray(seal(key, PLAIN))
    blob[position] ^= 0x01
    with pytest.raises(SealError):
        unseal(key, bytes(blob))


@pytest.mark.parametrize("keep", [0, 3, 5, 17, 32, -1, -16])
def test_it_refuses_a_cut_container(keep):
    key = new_data_key()
    blob = seal(key, PLAIN)
    with pytest.raises(SealError):
        unseal(key, blob[:keep])


def test_it_refuses_a_foreign_blob_and_a_short_key():
    key = new_data_key()
    with pytest.raises(SealError):
        unseal(key, b"PK\x03\x04" + os.urandom(64))
    with pytest.raises(SealError):
        unseal(key[:16], seal(key, PLAIN))
    assert issubclass(SealError, ValueError)


# Files: several chunks and a ragged end, so chunk boundaries and the last-chunk flag are tested.
@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(crypto, "FILE_CHUNK_BYTES", 1024)


def _plain_file(tmp_path, size: int):
    data = os.urandom(size // 2) + (b"model weights " * size)[: size - size // 2]
    path = tmp_path / "plain.bin"
    path.write_bytes(data)
    return path, data


@pytest.mark.parametrize("size", [0, 1, 1023, 1024, 1025, 5000])
def test_it_round_trips_a_file(tmp_path, small_chunks, size):
    key = new_data_key()
    src, data = _plain_file(tmp_path, size)
    sealed, opened = tmp_path / "sealed.bin", tmp_path / "opened.bin"
    seal_file(key, src, sealed, aad=b"ctx")
    unseal_file(key, sealed, opened, aad=b"ctx")
    assert opened.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["opened.bin", "plain.bin", "sealed.bin"]
    assert crypto.unseal_file_to_memory(key, sealed, aad=b"ctx") == data


def test_a_sealed_file_does_not_contain_the_plain_bytes(tmp_path, small_chunks):
    src, data = _plain_file(tmp_path, 5000)
    sealed = tmp_path / "sealed.bin"
    seal_file(new_data_key(), src, sealed)
    body = sealed.read_bytes()
    assert b"model weights" not in body and data[:32] not in body


def test_the_default_chunk_size_round_trips_a_large_file(tmp_path):
    key = new_data_key()
    src = tmp_path / "big.bin"
    data = os.urandom(crypto.FILE_CHUNK_BYTES * 2 + 12345)
    src.write_bytes(data)
    seal_file(key, src, tmp_path / "big.sealed")
    unseal_file(key, tmp_path / "big.sealed", tmp_path / "big.opened")
    assert (tmp_path / "big.opened").read_bytes() == data
    in_memory = crypto.unseal_file_to_memory(key, tmp_path / "big.sealed")
    assert in_memory.readonly and in_memory == data


def _refused(key, sealed, tmp_path, aad=b""):
    opened = tmp_path / "opened.bin"
    with pytest.raises(SealError):
        unseal_file(key, sealed, opened, aad=aad)
    # Nothing half-decrypted is left behind to be loaded by mistake.
    assert not opened.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
    with pytest.raises(SealError):
        crypto.unseal_file_to_memory(key, sealed, aad=aad)


@pytest.fixture
def sealed_file(tmp_path, small_chunks):
    key = new_data_key()
    src, _ = _plain_file(tmp_path, 5000)  # 5 chunks of 1024 and one of 904
    sealed = tmp_path / "sealed.bin"
    seal_file(key, src, sealed)
    return key, sealed


def test_a_file_refuses_a_wrong_key_or_context(tmp_path, sealed_file):
    key, sealed = sealed_file
    _refused(new_data_key(), sealed, tmp_path)
    _refused(key, sealed, tmp_path, aad=b"other")


@pytest.mark.parametrize("position", [0, 5, 9, 14, 20, 1024 + 16 + 20, 3000, -1])
def test_a_file_refuses_any_changed_byte(tmp_path, sealed_file, position):
    key, sealed = sealed_file
    blob = bytearray(sealed.read_bytes())
    blob[position] ^= 0x80
    sealed.write_bytes(bytes(blob))
    _refused(key, sealed, tmp_path)


def test_a_file_refuses_truncation_anywhere(tmp_path, sealed_file):
    key, sealed = sealed_file
    blob = sealed.read_bytes()
    header, chunk = 16, 1024 + 16
    # Cut at a chunk boundary (dropping the last chunks whole), inside a chunk, inside the header.
    for keep in (header + chunk, header + 3 * chunk, len(blob) - 1, len(blob) - 17, header, 7, 0):
        sealed.write_bytes(blob[:keep])
        _refused(key, sealed, tmp_path)


def test_a_file_refuses_reordered_dropped_or_appended_chunks(tmp_path, sealed_file):
    key, sealed = sealed_file
    blob = sealed.read_bytes()
    header, chunk = 16, 1024 + 16
    body = blob[header:]
    chunks = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    for changed in (
        [chunks[1], chunks[0], *chunks[2:]],  # swapped
        [chunks[0], *chunks[2:]],  # one dropped from the middle
        [*chunks, chunks[-1]],  # the last one twice
        [*chunks[:-1], chunks[-2], chunks[-1]],  # one repeated
    ):
        sealed.write_bytes(blob[:header] + b"".join(changed))
        _refused(key, sealed, tmp_path)


def test_a_file_refuses_a_foreign_file_and_a_single_container(tmp_path):
    key = new_data_key()
    foreign = tmp_path / "foreign.bin"
    foreign.write_bytes(b"PK\x03\x04" + os.urandom(200))
    _refused(key, foreign, tmp_path)
    small = tmp_path / "small.bin"
    small.write_bytes(seal(key, PLAIN))
    _refused(key, small, tmp_path)


def test_a_file_with_a_huge_chunk_size_in_its_header_is_refused_without_reading(tmp_path):
    key = new_data_key()
    src = tmp_path / "plain.bin"
    src.write_bytes(PLAIN)
    sealed = tmp_path / "sealed.bin"
    seal_file(key, src, sealed)
    blob = bytearray(sealed.read_bytes())
    blob[5:9] = (0xFFFFFFFF).to_bytes(4, "big")
    sealed.write_bytes(bytes(blob))
    _refused(key, sealed, tmp_path)


# Streams: the tar of a model is sealed as it is written and extracted as it is decrypted.


def test_a_stream_seals_what_seal_file_opens_and_reads_back(tmp_path, small_chunks):
    key = new_data_key()
    for size in (0, 1024, 5000):
        data = os.urandom(size)
        sealed = tmp_path / f"stream-{size}.sealed"
        with crypto.sealing(key, sealed, aad=b"ctx") as out:
            for start in range(0, size, 700):  # writes that straddle chunk boundaries
                out.write(data[start : start + 700])
        unseal_file(key, sealed, tmp_path / "opened.bin", aad=b"ctx")
        assert (tmp_path / "opened.bin").read_bytes() == data
        with crypto.SealedReader(key, sealed, aad=b"ctx") as reader:
            pieces = list(iter(lambda: reader.read(333), b""))
        assert b"".join(pieces) == data


def test_a_failed_stream_leaves_no_container(tmp_path):
    sealed = tmp_path / "sealed.bin"
    with pytest.raises(RuntimeError), crypto.sealing(new_data_key(), sealed) as out:
        out.write(b"half a model")
        raise RuntimeError("the writer failed")
    assert list(tmp_path.iterdir()) == []


def test_a_reader_refuses_a_cut_off_last_chunk_only_at_the_end(tmp_path, sealed_file):
    key, sealed = sealed_file
    blob = sealed.read_bytes()
    sealed.write_bytes(blob[: -(904 + 16)])  # the last chunk dropped whole
    with crypto.SealedReader(key, sealed) as reader:
        assert len(reader.read(1024)) == 1024  # the first chunks are authentic...
        with pytest.raises(SealError):
            reader.read_to_end()  # ...but the container is not whole


def test_containers_sealed_with_1_mib_chunks_still_open(tmp_path, monkeypatch):
    key = new_data_key()
    src = tmp_path / "plain.bin"
    data = os.urandom((1 << 20) * 2 + 999)
    src.write_bytes(data)
    monkeypatch.setattr(crypto, "FILE_CHUNK_BYTES", 1 << 20)
    seal_file(key, src, tmp_path / "old.sealed")
    monkeypatch.undo()
    assert crypto.FILE_CHUNK_BYTES == 4 << 20
    unseal_file(key, tmp_path / "old.sealed", tmp_path / "opened.bin")
    assert (tmp_path / "opened.bin").read_bytes() == data
    with crypto.SealedReader(key, tmp_path / "old.sealed") as reader:
        assert reader.read() == data
    assert crypto.unseal_file_to_memory(key, tmp_path / "old.sealed") == data
