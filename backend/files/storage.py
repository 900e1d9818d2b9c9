"""File storage behind one small interface: a local directory now, object storage later.

A file is written through :func:`save_stream`: the bytes go to a temporary file while their
SHA-256 and size are counted, then the finished file is put in place in one step (an atomic
rename for the local directory), and a :class:`StoredFile` row is added (flushed, not
committed). A failed write leaves neither a file nor a row.

A backend needs three methods — ``put`` (take a finished local file), ``open`` (read) and
``delete`` — so an S3 backend (boto3 ``upload_file`` / ``get_object``) can be added beside
:class:`LocalStorage` without changing callers.
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


def get_storage() -> Storage:
    """The configured storage backend."""
    return LocalStorage(current_app.config["UPLOAD_DIR"])


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
