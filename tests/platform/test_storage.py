"""The embedded object store: per-account buckets, prefixes, atomic writes, no escapes."""

import io

import pytest

from webapp.core import storage
from webapp.core.errors import ServiceError


def test_each_account_has_its_own_buckets(settings, tmp_path):
    settings.DATA_ROOT = tmp_path
    uri = storage.parse_uri("s3://data/train/file.csv", field="S3Uri")
    storage.save_upload("111111111111", uri, io.BytesIO(b"a,b\n"))
    assert (tmp_path / "s3/111111111111/data/train/file.csv").read_bytes() == b"a,b\n"
    with storage.open_read("111111111111", uri) as handle:
        assert handle.read() == b"a,b\n"
    with pytest.raises(ServiceError, match="does not exist"):
        storage.open_read("222222222222", uri)
    assert storage.list_files("222222222222", uri) == []


def test_prefixes_list_every_file_below(settings, tmp_path):
    settings.DATA_ROOT = tmp_path
    for key in ("in/a.txt", "in/b.txt", "in/sub/c.txt", "other/d.txt"):
        storage.save_upload("111111111111", storage.S3Uri("data", key), io.BytesIO(b"x"))
    found = storage.list_files("111111111111", storage.parse_uri("s3://data/in/", field="S3Uri"))
    assert [u.key for u, _ in found] == ["in/a.txt", "in/b.txt", "in/sub/c.txt"]
    partial = storage.list_files("111111111111", storage.parse_uri("s3://data/in/a", field="f"))
    assert [u.key for u, _ in partial] == ["in/a.txt"]


def test_a_failed_write_leaves_nothing(settings, tmp_path):
    settings.DATA_ROOT = tmp_path
    uri = storage.S3Uri("data", "out/model.bin")
    with pytest.raises(RuntimeError):
        with storage.open_write("111111111111", uri) as handle:
            handle.write(b"half")
            raise RuntimeError("crash")
    assert not storage.exists("111111111111", uri)
    assert list((tmp_path / "s3/111111111111/data/out").iterdir()) == []


@pytest.mark.parametrize(
    "bad",
    [
        "http://x/y",
        "s3://Bad_Bucket/k",
        "s3://ok-bucket/../../etc",
        "s3://ok-bucket/a/./b",
        "s3://x/k",
    ],
)
def test_bad_uris_name_the_field(bad):
    with pytest.raises(ServiceError) as excinfo:
        storage.parse_uri(bad, field="InputDataConfig.S3Uri")
    assert excinfo.value.code == "ValidationException"
    assert "InputDataConfig.S3Uri" in excinfo.value.message
