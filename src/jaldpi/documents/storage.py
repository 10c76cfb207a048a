"""Content-addressed blob storage for document bytes: on disk, or in an S3-compatible object store.

A blob's name is the SHA-256 of its bytes (64 lower-case hex digits), so the same bytes are stored once, a name
always means the same content, and integrity can be checked by re-hashing (``jaldpi documents verify``). Writes are
streamed and hashed on the way into a temporary file, which becomes the blob only once complete (an atomic rename
on disk, one complete PUT or multipart upload on S3): a reader never sees half a blob.

A blob without a record pointing at it is harmless (an upload whose record was refused): ``verify`` lists such
orphans. Blobs are never changed in place; records are what is edited, versioned and soft-deleted.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol, runtime_checkable

CHUNK_BYTES = 1024 * 1024  # read and hash in 1 MiB pieces: constant memory for any size
_NAME = re.compile(r"^[0-9a-f]{64}$")


class BlobError(Exception):
    """Base of the storage errors (the service turns them into API errors)."""


class BlobTooLarge(BlobError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"content exceeds the limit of {limit} bytes")
        self.limit = limit


class EmptyContent(BlobError):
    def __init__(self) -> None:
        super().__init__("the content is empty (0 bytes)")


class BlobNotFound(BlobError, LookupError):
    def __init__(self, sha256: str) -> None:
        super().__init__(f"no stored content has sha256 {sha256}")
        self.sha256 = sha256


Source = str | os.PathLike[str] | BinaryIO


@runtime_checkable
class BlobStore(Protocol):
    """What the documents domain needs of a blob store; names are SHA-256 hex digests of the content."""

    def put(self, data: bytes) -> str:
        """Store ``data``; return its SHA-256 (hex). Storing bytes already present changes nothing."""

    def put_file(self, source: Source, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Store a file (path or binary stream), streamed; return (sha256, size in bytes).

        Refuses empty content (:class:`EmptyContent`) and, when ``max_bytes`` is given, content larger than that
        (:class:`BlobTooLarge`, raised as soon as the limit is passed); nothing is stored then.
        """

    def exists(self, sha256: str) -> bool: ...

    def open(self, sha256: str) -> BinaryIO:
        """A binary stream of the content (the caller closes it); :class:`BlobNotFound` when absent."""

    def size(self, sha256: str) -> int:
        """Size of the content in bytes; :class:`BlobNotFound` when absent."""

    def names(self) -> Iterator[str]:
        """Every stored blob's name (for integrity checks)."""


def valid_name(sha256: str) -> bool:
    return isinstance(sha256, str) and bool(_NAME.match(sha256))


def _check_name(sha256: str) -> str:
    # Names become file paths and object keys: only 64 hex digits ever reach them (no traversal, no surprises).
    if not valid_name(sha256):
        raise BlobNotFound(str(sha256)[:80])
    return sha256


def _copy_hashing(src: BinaryIO, out: BinaryIO, max_bytes: int | None) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = src.read(CHUNK_BYTES)
        if not chunk:
            break
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BlobTooLarge(max_bytes)
        digest.update(chunk)
        out.write(chunk)
    if size == 0:
        raise EmptyContent()
    return digest.hexdigest(), size


class _opened:
    """Open a path, or pass a stream through (not closing what the caller owns)."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.handle: BinaryIO | None = None

    def __enter__(self) -> BinaryIO:
        if isinstance(self.source, str | os.PathLike):
            self.handle = open(self.source, "rb")  # noqa: SIM115  (closed in __exit__)
            return self.handle
        return self.source  # type: ignore[return-value]

    def __exit__(self, *exc: Any) -> None:
        if self.handle is not None:
            self.handle.close()


class DiskStore:
    """Blobs as files ``<root>/ab/cd/<sha256>`` (two levels of 256 folders keep directories small); temporary
    files in ``<root>/tmp/`` on the same file system, so that the final rename is atomic."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path_of(self, sha256: str) -> Path:
        _check_name(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        return self.put_file(io.BytesIO(data))[0]

    def put_file(self, source: Source, *, max_bytes: int | None = None) -> tuple[str, int]:
        tmp_dir = self.root / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
        try:
            with os.fdopen(fd, "wb") as out, _opened(source) as src:
                sha256, size = _copy_hashing(src, out, max_bytes)
                out.flush()
                os.fsync(out.fileno())  # the bytes are on disk before the name says they are
            target = self.path_of(sha256)
            if not target.exists():  # same bytes stored once
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, target)  # atomic; a concurrent upload of the same bytes writes the same file
            return sha256, size
        finally:
            if os.path.exists(tmp_name):
                os.unlink(tmp_name)

    def exists(self, sha256: str) -> bool:
        return valid_name(sha256) and self.path_of(sha256).is_file()

    def open(self, sha256: str) -> BinaryIO:
        try:
            return open(self.path_of(sha256), "rb")  # noqa: SIM115  (the caller closes it)
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def size(self, sha256: str) -> int:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            raise BlobNotFound(sha256) from None

    def names(self) -> Iterator[str]:
        if not self.root.is_dir():
            return
        for first in sorted(self.root.iterdir()):
            if len(first.name) != 2 or not first.is_dir():
                continue  # tmp/ and anything an operator put there
            for second in sorted(first.iterdir()):
                if not second.is_dir():
                    continue
                for blob in sorted(second.iterdir()):
                    if blob.is_file():
                        yield blob.name


class S3Store:
    """Blobs as objects ``<prefix>ab/cd/<sha256>`` in a bucket of an S3-compatible service (AWS S3, MinIO, Ceph).

    Needs boto3 (the optional extra ``jaldpi[s3]``), imported only when this store is built. Uploads are spooled to
    a local temporary file while hashed (the key is the hash, known only at the end), then sent as one object: S3
    makes an object visible only when its PUT (or multipart upload) completes, so nothing is half-written.
    """

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 prefix: str = "documents/", client: Any = None) -> None:
        if client is None:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as exc:  # an optional extra: say how to get it
                raise RuntimeError("the s3 document backend needs boto3: install jaldpi with the s3 extra "
                                   "(pip install 'jaldpi[s3]') or set JALDPI_DOCUMENTS_BACKEND=disk") from exc
            client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region,
                                  aws_access_key_id=access_key_id, aws_secret_access_key=secret_access_key,
                                  config=Config(signature_version="s3v4", retries={"mode": "standard"}))
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    def key_of(self, sha256: str) -> str:
        _check_name(sha256)
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def put(self, data: bytes) -> str:
        return self.put_file(io.BytesIO(data))[0]

    def put_file(self, source: Source, *, max_bytes: int | None = None) -> tuple[str, int]:
        with tempfile.TemporaryFile(prefix="jaldpi-upload-") as spool, _opened(source) as src:
            sha256, size = _copy_hashing(src, spool, max_bytes)
            if not self.exists(sha256):
                spool.seek(0)
                self.client.upload_fileobj(spool, self.bucket, self.key_of(sha256),
                                           ExtraArgs={"Metadata": {"sha256": sha256}})
        return sha256, size

    def _head(self, sha256: str) -> dict[str, Any] | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self.key_of(sha256))
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise

    def exists(self, sha256: str) -> bool:
        return valid_name(sha256) and self._head(sha256) is not None

    def open(self, sha256: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self.key_of(sha256))["Body"]
        except ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound"):
                raise BlobNotFound(sha256) from None
            raise

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise BlobNotFound(sha256)
        return int(head["ContentLength"])

    def names(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for obj in page.get("Contents", []):
                name = obj["Key"].rsplit("/", 1)[-1]
                if valid_name(name):
                    yield name


_STORES: dict[tuple[Any, ...], BlobStore] = {}


def blob_store(settings: Any) -> BlobStore:
    """The node's blob store, chosen by ``settings.documents_backend`` (disk | s3); one per configuration."""
    if settings.documents_backend == "s3":
        if not settings.documents_s3_bucket:
            raise RuntimeError("JALDPI_DOCUMENTS_BACKEND=s3 needs JALDPI_DOCUMENTS_S3_BUCKET")
        key: tuple[Any, ...] = ("s3", settings.documents_s3_endpoint_url, settings.documents_s3_bucket,
                                settings.documents_s3_prefix, settings.documents_s3_region,
                                settings.documents_s3_access_key_id, settings.documents_s3_secret_access_key)
        if key not in _STORES:
            _STORES[key] = S3Store(settings.documents_s3_bucket, endpoint_url=settings.documents_s3_endpoint_url,
                                   region=settings.documents_s3_region, prefix=settings.documents_s3_prefix,
                                   access_key_id=settings.documents_s3_access_key_id,
                                   secret_access_key=settings.documents_s3_secret_access_key)
        return _STORES[key]
    if settings.documents_backend != "disk":
        raise RuntimeError(f"unknown documents_backend {settings.documents_backend!r}: disk or s3")
    return DiskStore(Path(settings.documents_dir).resolve())


def sha256_of_stream(stream: BinaryIO) -> tuple[str, int]:
    """Re-hash a stream (integrity checks): (sha256 hex, size)."""
    digest = hashlib.sha256()
    size = 0
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if not chunk:
            return digest.hexdigest(), size
        size += len(chunk)
        digest.update(chunk)
