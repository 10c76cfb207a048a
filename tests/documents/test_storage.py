"""Blob stores: the disk store, and the S3 store against a real S3-compatible HTTP server (moto's server, an
emulator of the S3 API; skipped with the reason when it is not installed)."""

from __future__ import annotations

import hashlib
import io

import pytest

from jaldpi.documents.storage import BlobNotFound, BlobStore, BlobTooLarge, DiskStore, EmptyContent, S3Store
from tests.documents.conftest import JPEG, PDF


def _exercise(store: BlobStore, tmp_path) -> None:
    """The contract every store keeps."""
    sha = store.put(JPEG)
    assert sha == hashlib.sha256(JPEG).hexdigest()
    assert store.exists(sha) and store.size(sha) == len(JPEG)
    with store.open(sha) as stream:
        assert stream.read() == JPEG
    assert store.put(JPEG) == sha  # idempotent: same bytes, same blob
    path = tmp_path / "resolution.pdf"
    path.write_bytes(PDF)
    assert store.put_file(path) == (hashlib.sha256(PDF).hexdigest(), len(PDF))
    assert store.put_file(io.BytesIO(PDF), max_bytes=len(PDF)) == (hashlib.sha256(PDF).hexdigest(), len(PDF))
    with pytest.raises(BlobTooLarge):
        store.put_file(io.BytesIO(b"x" * 100), max_bytes=99)
    with pytest.raises(EmptyContent):
        store.put_file(io.BytesIO(b""))
    assert sorted(store.names()) == sorted([sha, hashlib.sha256(PDF).hexdigest()])  # nothing of the refusals
    missing = hashlib.sha256(b"absent").hexdigest()
    assert not store.exists(missing) and not store.exists("../../etc/passwd")
    with pytest.raises(BlobNotFound):
        store.open(missing)
    with pytest.raises(BlobNotFound):
        store.size("../" + missing)


def test_disk_store(tmp_path):
    store = DiskStore(tmp_path / "blobs")
    assert isinstance(store, BlobStore)
    _exercise(store, tmp_path)
    sha = hashlib.sha256(JPEG).hexdigest()
    assert (tmp_path / "blobs" / sha[:2] / sha[2:4] / sha).read_bytes() == JPEG  # sharded ab/cd/<sha256>
    assert list((tmp_path / "blobs" / "tmp").iterdir()) == []  # refused and finished uploads leave no temp file


@pytest.fixture(scope="module")
def s3_server():
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:  # dev extra moto[s3] + flask: not installed here
        pytest.skip(f"no S3-compatible server to test against (moto's server is not installed: {exc})")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def test_s3_store_against_an_s3_compatible_server(s3_server, tmp_path):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server, region_name="ap-south-1", aws_access_key_id="test",
                          aws_secret_access_key="test")
    client.create_bucket(Bucket="jaldpi-docs", CreateBucketConfiguration={"LocationConstraint": "ap-south-1"})
    store = S3Store("jaldpi-docs", endpoint_url=s3_server, region="ap-south-1", access_key_id="test",
                    secret_access_key="test", prefix="state28/")
    assert isinstance(store, BlobStore)
    _exercise(store, tmp_path)
    sha = hashlib.sha256(JPEG).hexdigest()
    head = client.head_object(Bucket="jaldpi-docs", Key=f"state28/{sha[:2]}/{sha[2:4]}/{sha}")
    assert head["ContentLength"] == len(JPEG) and head["Metadata"] == {"sha256": sha}


def test_s3_backend_needs_a_bucket(database):
    from jaldpi.documents.storage import blob_store
    from tests.conftest import test_settings

    with pytest.raises(RuntimeError, match="JALDPI_DOCUMENTS_S3_BUCKET"):
        blob_store(test_settings(database, documents_backend="s3"))
