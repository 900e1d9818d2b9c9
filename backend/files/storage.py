"""File storage behind one small interface: a local directory now, object storage later.

A file is written through :func:`save_stream`: the bytes go to a temporary file while their
SHA-256 and size are counted, then the finished file is put in place in one step (an atomic
rename for the local directory), and a :class:`StoredFile` row is added (flushed, not
committed). A failed write leaves neither a file nor a row.

A backend needs three methods — ``put`` (take a finished local file), ``open`` (read) and
``delete`` — plus ``scratch_dir``. Two exist: :class:`LocalStorage` (``UPLOAD_DIR``, the
embedded default) and :class:`S3Storage` (an S3-compatible bucket through boto3, chosen
with ``STORAGE_BACKEND=s3``).
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app
from flask_babel import gettext as _

from backend.accounts.models import User
from backend.core.errors import NotFound, ServiceUnavailable
from backend.core.time import utcnow
from backend.extensions import db
from backend.files.models import StoredFile

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*$")


class Storage(Protocol):
    """What a storage backend does."""

    def put(self, key: str, source: Path) -> None:
        """Take the finished local file *source* and keep it under *key*."""

    def open(self, key: str) -> BinaryIO:
        """Open the file under *key* for reading."""

    def delete(self, key: str) -> None:
        """Remove the file under *key* (no error when it is gone)."""

    def scratch_dir(self) -> Path:
        """A local directory for files being written (same filesystem as ``put`` targets)."""


def check_key(key: str) -> str:
    """Refuse keys that could leave the storage root (``..``, absolute paths, odd bytes)."""
    if len(key) > 200 or not _KEY.match(key) or ".." in key.split("/"):
        raise ValueError(f"bad storage key {key!r}")
    return key


class LocalStorage:
    """Files under a local directory (``UPLOAD_DIR``), the embedded default."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        """Where *key* lives on disk."""
        return self.root / check_key(key)

    def scratch_dir(self) -> Path:
        """``<root>/.incoming``: on the same filesystem, so ``put`` is a rename."""
        path = self.root / ".incoming"
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceUnavailable(
                _("无法写入文件存储目录 %(path)s：%(error)s。", path=self.root, error=exc.strerror),
                slug="storage_unavailable",
            ) from None
        return path

    def put(self, key: str, source: Path) -> None:
        """Move *source* into place atomically (``os.replace``)."""
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def open(self, key: str) -> BinaryIO:
        """Open the file for reading; NotFound when it has gone missing."""
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(_("文件不存在或已被删除。"), slug="file_missing") from None

    def delete(self, key: str) -> None:
        """Remove the file if it is there."""
        self._path(key).unlink(missing_ok=True)

    def local_path(self, key: str) -> Path:
        """The file's path on disk (local storage only)."""
        return self._path(key)


class S3Storage:
    """Files in an S3-compatible bucket (AWS S3, MinIO, Tencent COS...), through boto3.

    Files are still written to a local scratch file first (so their hash and size are known
    and nothing half-written is ever visible), then uploaded in one piece and the scratch
    file removed. The storage's failures become a 503 ``storage_unavailable``.
    """

    def __init__(self, client, bucket: str, prefix: str = "", scratch: str | os.PathLike = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.scratch = Path(scratch or tempfile.gettempdir()) / "yipin-incoming"

    def _key(self, key: str) -> str:
        """The object key of *key* (with the configured prefix)."""
        return self.prefix + check_key(key)

    def _unavailable(self, exc: Exception) -> ServiceUnavailable:
        """The storage refused or could not be reached."""
        return ServiceUnavailable(
            _("文件存储暂时不可用（%(error)s），请稍后再试。", error=type(exc).__name__),
            slug="storage_unavailable",
        )

    def scratch_dir(self) -> Path:
        """A local directory for files on their way to the bucket."""
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch

    def put(self, key: str, source: Path) -> None:
        """Upload *source* under *key*, then remove the local copy."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.upload_file(str(source), self.bucket, self._key(key))
        except (Boto3Error, BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc) from None
        source.unlink(missing_ok=True)

    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object; NotFound when it has gone missing."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(_("文件不存在或已被删除。"), slug="file_missing") from None
            raise self._unavailable(exc) from None
        except BotoCoreError as exc:
            raise self._unavailable(exc) from None

    def delete(self, key: str) -> None:
        """Remove the object (S3 does not mind when it is gone)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise self._unavailable(exc) from None


def s3_client(config) -> object:
    """A boto3 S3 client for the configured endpoint, region and keys."""
    import boto3
    from botocore.config import Config as BotoConfig

    return boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        region_name=config.get("S3_REGION") or None,
        aws_access_key_id=config.get("AWS_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("AWS_SECRET_ACCESS_KEY") or None,
        config=BotoConfig(
            connect_timeout=5,
            read_timeout=30,
            retries={"max_attempts": 3, "mode": "standard"},
            # Path-style addressing works with every S3-compatible server (MinIO, moto).
            s3={"addressing_style": "path"} if config.get("S3_ENDPOINT_URL") else {},
        ),
    )


def get_storage() -> Storage:
    """The configured storage backend (``STORAGE_BACKEND``: local or s3)."""
    config = current_app.config
    if config.get("STORAGE_BACKEND") == "s3":
        client = current_app.extensions.get("s3_client")
        if client is None:  # boto3 clients are thread-safe: one per app
            client = current_app.extensions["s3_client"] = s3_client(config)
        return S3Storage(client, config["S3_BUCKET"], config.get("S3_PREFIX") or "")
    return LocalStorage(config["UPLOAD_DIR"])


class _HashingWriter:
    """A binary writer that counts the bytes and SHA-256 of what passes through."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        """Write *data* and count it."""
        self._raw.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        """Flush the underlying file."""
        self._raw.flush()


def new_key(prefix: str, suffix: str = "") -> str:
    """A fresh, unguessable key like ``labels/2026/11/3f9c…e1.pdf``."""
    now = utcnow()
    return check_key(f"{prefix}/{now:%Y/%m}/{secrets.token_hex(12)}{suffix}")


def save_stream(
    write: Callable[[BinaryIO], object],
    *,
    filename: str,
    content_type: str,
    prefix: str = "files",
    by: User | None = None,
) -> StoredFile:
    """Store what *write* writes to the stream it is given; return the flushed row.

    *write* may produce any amount of data: it goes to disk as it comes, never to memory.
    """
    storage = get_storage()
    suffix = Path(filename).suffix[:10]
    key = new_key(prefix, suffix if re.fullmatch(r"\.[A-Za-z0-9]+", suffix) else "")
    # Closed by the with-block below, renamed into place on success.
    handle = tempfile.NamedTemporaryFile(
        dir=storage.scratch_dir(), prefix="upload-", suffix=".part", delete=False
    )
    temp = Path(handle.name)
    try:
        with handle:
            writer = _HashingWriter(handle)
            write(writer)
            handle.flush()
            os.fsync(handle.fileno())
        storage.put(key, temp)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    stored = StoredFile(
        storage_key=key,
        filename=filename[:200],
        content_type=content_type,
        size=writer.size,
        sha256=writer.sha256.hexdigest(),
        uploaded_by_id=by.id if by else None,
    )
    db.session.add(stored)
    try:
        db.session.flush()
    except BaseException:
        storage.delete(key)
        raise
    return stored


def open_file(stored: StoredFile) -> BinaryIO:
    """Open a stored file for reading."""
    return get_storage().open(stored.storage_key)


def delete_file(stored: StoredFile) -> None:
    """Remove a stored file's bytes and its row (flushed)."""
    get_storage().delete(stored.storage_key)
    db.session.delete(stored)
    db.session.flush()
