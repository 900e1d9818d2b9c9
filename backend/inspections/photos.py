"""Photos of checklist items and rectifications: stored through the upload checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy import select

from backend.accounts.models import Role, User
from backend.accounts.permissions import require_role
from backend.core.errors import DomainError, Errors, NotFound, ValidationError, refuse
from backend.core.i18n import gettext as _
from backend.extensions import db
from backend.files.models import StoredFile
from backend.files.storage import delete_file
from backend.files.uploads import IMAGES, save_upload, sniff
from backend.inspections.checks import STAFF_ONLY
from backend.inspections.models import InspectionItem, Rectification


@dataclass
class Upload:
    """A file a person chose to upload: its bytes and the name their device gave it."""

    stream: BinaryIO
    filename: str = ""


def store_photo(upload: Upload, *, by: User) -> StoredFile:
    """Store an image through the upload checks (size, type from the bytes, a real image)."""
    head = upload.stream.read(16)
    upload.stream.seek(0)
    if head and sniff(head) not in IMAGES:
        raise ValidationError(_("照片只能是 JPEG、PNG 或 WebP 图片。"), slug="upload_type_refused")
    return save_upload(upload.stream, upload.filename, by=by)


def store_photos(errors: Errors, photos: dict[str, Upload], *, by: User) -> dict[str, StoredFile]:
    """Store each photo (field name → upload); note the refused ones. When anything at all
    was refused (*errors* not empty at the end), the stored ones are removed again and the
    ValidationError raised, so nothing is left behind."""
    stored: dict[str, StoredFile] = {}
    try:
        for name, upload in photos.items():
            try:
                stored[name] = store_photo(upload, by=by)
            except DomainError as exc:
                errors.add(name, exc.message)
        refuse(errors, "inspection_invalid")
    except BaseException:
        for saved in stored.values():
            delete_file(saved)
        raise
    return stored


def get_photo(file_id: int, *, by: User) -> StoredFile:
    """A photo of an inspection item or a rectification, for regulators and inspectors;
    NotFound for any other file."""
    require_role(by, Role.REGULATOR, Role.INSPECTOR, message=_(STAFF_ONLY), slug="staff_only")
    used = db.session.scalar(
        select(InspectionItem.id).where(InspectionItem.photo_file_id == file_id).limit(1)
    ) or db.session.scalar(
        select(Rectification.id).where(Rectification.photo_file_id == file_id).limit(1)
    )
    stored = db.session.get(StoredFile, file_id) if used else None
    if stored is None:
        raise NotFound(_("照片不存在。"), slug="photo_not_found")
    return stored
