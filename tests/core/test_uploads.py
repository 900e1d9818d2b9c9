"""Uploads: types sniffed from the bytes, a size limit, local and S3 storage (moto's server
on 127.0.0.1), downloads for the uploader and regulators."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from backend.accounts.models import MemberRole
from backend.accounts.tokens import issue_token
from backend.config import ConfigError, TestingConfig
from backend.core.errors import NotFound
from backend.extensions import db as _db
from backend.files import storage
from backend.files.models import StoredFile
from tests.factories import (
    InspectorFactory,
    RegulatorFactory,
    UserFactory,
    WorkshopMembershipFactory,
)

ERROR_KEYS = {"code", "status", "error", "message", "errors"}
UPLOADS = "/api/v1/uploads"
ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x3e\x00" + b"\x00" * 200
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def image(fmt: str, size=(32, 24)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {issue_token(user)}"}


def assert_error(response, status: int, slug: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    body = response.get_json()
    assert set(body) == ERROR_KEYS and body["error"] == slug and body["message"], body
    return body


def stored_count() -> int:
    return _db.session.scalar(select(func.count()).select_from(StoredFile))


def files_in(path) -> list:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


def post(client, data: bytes, headers: dict, filename="photo.jpg", content_type=None, **extra):
    form = {
        "file": (io.BytesIO(data), filename, content_type)
        if content_type
        else (io.BytesIO(data), filename),
        **extra,
    }
    return client.post(UPLOADS, data=form, headers=headers, content_type="multipart/form-data")


@pytest.fixture()
def uploads(app, tmp_path, monkeypatch):
    """A private UPLOAD_DIR for the test."""
    path = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(path))
    return path


@pytest.fixture()
def operator(db):
    """An operator bound to a workshop."""
    user = UserFactory()
    WorkshopMembershipFactory(user=user, role=MemberRole.STAFF)
    return user


# --- what is accepted -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "extension"),
    [("JPEG", "image/jpeg", ".jpg"), ("PNG", "image/png", ".png"), ("WEBP", "image/webp", ".webp")],
)
def test_an_operator_uploads_a_photo(client, db, uploads, operator, fmt, content_type, extension):
    data = image(fmt)
    response = post(client, data, bearer(operator), filename="进货单 photo.bin")
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body == {
        "id": body["id"],
        "sha256": hashlib.sha256(data).hexdigest(),
        "size": len(data),
        "content_type": content_type,
        "filename": "进货单 photo" + extension,
    }
    stored = db.session.get(StoredFile, body["id"])
    assert stored.uploaded_by_id == operator.id
    assert stored.storage_key.startswith("uploads/") and stored.storage_key.endswith(extension)
    assert (uploads / stored.storage_key).read_bytes() == data
    assert list((uploads / ".incoming").iterdir()) == []  # no scratch file left


def test_the_name_and_content_type_sent_are_ignored(client, db, uploads, operator):
    data = image("PNG")
    response = post(
        client,
        data,
        bearer(operator),
        filename="../../etc/report.pdf",
        content_type="application/pdf",
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["content_type"] == "image/png" and body["filename"] == "report.png"


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("photo.jpg", ELF),
        ("photo.jpg", PE),
        ("photo.png", b"#!/bin/sh\nrm -rf /\n"),
        ("photo.jpg", b"<html><script>alert(1)</script></html>"),
        ("photo.gif", b"GIF89a" + b"\x00" * 100),
        ("photo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"></svg>'),
        ("photo.zip", b"PK\x03\x04" + b"\x00" * 100),
    ],
    ids=["elf", "pe", "script", "html", "gif", "svg", "zip"],
)
def test_anything_but_an_image_is_refused(client, db, uploads, operator, name, data):
    response = post(client, data, bearer(operator), filename=name, content_type="image/jpeg")
    body = assert_error(response, 422, "upload_type_refused")
    assert "file" in body["errors"]
    assert stored_count() == 0 and files_in(uploads) == []


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + ELF,  # a JPEG header in front of a program
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,
        b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16,
        image("PNG")[:40],  # cut off
    ],
    ids=["jpeg-header-elf", "png-header-only", "webp-header-only", "truncated-png"],
)
def test_a_fake_image_is_refused(client, db, uploads, operator, data):
    assert_error(post(client, data, bearer(operator)), 422, "upload_corrupt")
    assert stored_count() == 0 and files_in(uploads) == []


def test_pdf_reports_are_for_inspectors_and_regulators(client, db, uploads, operator):
    assert_error(post(client, PDF, bearer(operator), "report.pdf"), 422, "upload_type_refused")
    for user in (InspectorFactory(), RegulatorFactory()):
        response = post(client, PDF, bearer(user), "检测报告.pdf")
        assert response.status_code == 201, response.get_data(as_text=True)
        assert response.get_json()["content_type"] == "application/pdf"
        assert response.get_json()["filename"] == "检测报告.pdf"


def test_an_empty_file_is_refused(client, db, uploads, operator):
    assert_error(post(client, b"", bearer(operator)), 422, "upload_empty")
    assert stored_count() == 0


# --- size -------------------------------------------------------------------------------------


def test_a_file_over_the_limit_is_a_413(client, db, uploads, operator, app, monkeypatch):
    data = image("PNG", size=(300, 300))
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(data) - 1)
    body = assert_error(post(client, data, bearer(operator)), 413, "upload_too_large")
    assert "file" in body["errors"]
    assert stored_count() == 0 and files_in(uploads) == []
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", len(data))
    assert post(client, data, bearer(operator)).status_code == 201


def test_a_10_mb_body_is_a_413_in_the_error_shape(client, db, uploads, operator):
    data = b"\xff\xd8\xff\xe0" + b"\x00" * (10 * 1000 * 1000)
    # Encoded in memory: the test client's own encoder would spill it to an unclosed file.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), "photo.jpg")})
    response = client.post(
        UPLOADS,
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers=bearer(operator),
    )
    assert_error(response, 413, "request_entity_too_large")
    assert stored_count() == 0 and files_in(uploads) == []


def test_the_default_limit_is_8_mib_and_bodies_just_above_pass_to_the_check(app):
    assert TestingConfig.UPLOAD_MAX_BYTES == 8 * 1024 * 1024
    assert 8 * 1024 * 1024 < app.config["MAX_CONTENT_LENGTH"] < 10 * 1000 * 1000


# --- the form ---------------------------------------------------------------------------------


def test_the_file_field_is_required(client, db, uploads, operator):
    headers = bearer(operator)
    response = client.post(UPLOADS, data={}, headers=headers, content_type="multipart/form-data")
    body = assert_error(response, 422, "validation_failed")
    assert "file" in json.dumps(body["errors"])
    response = client.post(
        UPLOADS,
        data={"photo": (io.BytesIO(image("PNG")), "a.png")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert_error(response, 422, "validation_failed")
    response = client.post(UPLOADS, json={"file": "aGVsbG8="}, headers=headers)
    assert_error(response, 422, "validation_failed")
    assert stored_count() == 0


def test_extra_fields_and_files_are_refused(client, db, uploads, operator):
    headers = bearer(operator)
    response = post(client, image("PNG"), headers, workshop_id="1")
    assert assert_error(response, 422, "validation_failed")["errors"] == {
        "workshop_id": ["Unknown field."]
    }
    response = client.post(
        UPLOADS,
        data={"file": [(io.BytesIO(image("PNG")), "a.png"), (io.BytesIO(image("PNG")), "b.png")]},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert_error(response, 422, "validation_failed")
    response = client.post(
        UPLOADS,
        data={"file": (io.BytesIO(image("PNG")), "a.png"), "other": (io.BytesIO(b"x"), "b.png")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert_error(response, 422, "validation_failed")
    assert stored_count() == 0 and files_in(uploads) == []


def test_a_retried_upload_is_stored_once(client, db, uploads, operator):
    headers = {**bearer(operator), "Idempotency-Key": "photo-1"}
    # The phone resends the very same bytes.
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(image("JPEG")), "a.jpg")})
    content_type = f"multipart/form-data; boundary={boundary}"
    first = client.post(UPLOADS, data=body, content_type=content_type, headers=headers)
    assert first.status_code == 201
    again = client.post(UPLOADS, data=body, content_type=content_type, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stored_count() == 1 and len(files_in(uploads / "uploads")) == 1
    other = post(client, image("PNG"), headers)
    assert_error(other, 409, "idempotency_key_reused")


# --- who may upload ---------------------------------------------------------------------------


def test_uploading_needs_a_login(client, db, uploads):
    assert_error(post(client, image("PNG"), {}), 401, "token_missing")
    expired = issue_token(UserFactory(), ttl=timedelta(seconds=-1))
    response = post(client, image("PNG"), {"Authorization": f"Bearer {expired}"})
    assert_error(response, 401, "token_expired")
    assert stored_count() == 0


def test_an_operator_without_a_workshop_cannot_upload(client, db, uploads):
    lone = UserFactory()
    assert_error(post(client, image("PNG"), bearer(lone)), 403, "no_workshop")
    WorkshopMembershipFactory(user=lone, active=False)
    assert_error(post(client, image("PNG"), bearer(lone)), 403, "no_workshop")
    assert stored_count() == 0


def test_inspectors_and_regulators_upload_images_too(client, db, uploads):
    for user in (InspectorFactory(), RegulatorFactory()):
        assert post(client, image("JPEG"), bearer(user)).status_code == 201


def test_a_storage_that_cannot_be_written_is_a_503(
    client, db, tmp_path, operator, app, monkeypatch
):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(blocker / "uploads"))
    assert_error(post(client, image("PNG"), bearer(operator)), 503, "storage_unavailable")
    assert stored_count() == 0


# --- downloads --------------------------------------------------------------------------------


@pytest.fixture()
def uploaded(client, uploads, operator):
    data = image("JPEG")
    body = post(client, data, bearer(operator)).get_json()
    return body["id"], data


def test_the_uploader_downloads_the_file(client, db, operator, uploaded):
    file_id, data = uploaded
    response = client.get(f"{UPLOADS}/{file_id}", headers=bearer(operator))
    assert response.status_code == 200
    assert response.data == data and response.mimetype == "image/jpeg"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["Content-Length"] == str(len(data))
    response.close()


def test_a_regulator_downloads_any_file(client, db, uploaded):
    file_id, data = uploaded
    response = client.get(f"{UPLOADS}/{file_id}", headers=bearer(RegulatorFactory()))
    assert response.status_code == 200 and response.data == data
    response.close()


def test_others_may_not_download(client, db, operator, uploaded):
    file_id, _ = uploaded
    # Another operator of the same workshop, another workshop's operator, an inspector.
    colleague = UserFactory()
    WorkshopMembershipFactory(
        user=colleague, workshop_id=operator.memberships[0].workshop_id, role=MemberRole.OWNER
    )
    stranger = UserFactory()
    WorkshopMembershipFactory(user=stranger)
    for user in (colleague, stranger, InspectorFactory()):
        response = client.get(f"{UPLOADS}/{file_id}", headers=bearer(user))
        assert_error(response, 403, "not_your_file")
    assert_error(client.get(f"{UPLOADS}/{file_id}"), 401, "token_missing")


def test_unknown_files(client, db, operator):
    headers = bearer(operator)
    assert_error(client.get(f"{UPLOADS}/999999", headers=headers), 404, "file_not_found")
    for path in ("abc", "-1", "99999999999999999999999", "1.5"):
        assert_error(client.get(f"{UPLOADS}/{path}", headers=headers), 404, "not_found")


def test_a_file_gone_from_storage_is_a_404(client, db, uploads, operator, uploaded):
    file_id, _ = uploaded
    (uploads / db.session.get(StoredFile, file_id).storage_key).unlink()
    assert_error(client.get(f"{UPLOADS}/{file_id}", headers=bearer(operator)), 404, "file_missing")


def test_the_upload_routes_are_documented(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    post_doc = paths[UPLOADS]["post"]
    assert post_doc["summary"].startswith("Upload a ledger photo")
    assert "multipart/form-data" in post_doc["requestBody"]["content"]
    assert paths["/api/v1/uploads/{file_id}"]["get"]["summary"]


# --- S3 (moto's server on 127.0.0.1) -----------------------------------------------------------


@pytest.fixture(scope="module")
def moto_server():
    """moto's S3 server on a free loopback port."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture()
def s3(app, moto_server, monkeypatch, tmp_path):
    """Point the app at a fresh bucket on the moto server; yield a boto3 client."""
    import uuid

    bucket = f"yipin-{uuid.uuid4().hex[:12]}"
    settings = {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": moto_server,
        "S3_REGION": "us-east-1",
        "S3_PREFIX": "test/",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "UPLOAD_DIR": str(tmp_path / "never-used"),
    }
    for key, value in settings.items():
        monkeypatch.setitem(app.config, key, value)
    app.extensions.pop("s3_client", None)
    client = storage.s3_client(app.config)
    client.create_bucket(Bucket=bucket)
    yield client, bucket
    app.extensions.pop("s3_client", None)


def object_keys(client, bucket) -> list[str]:
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_uploads_go_to_the_bucket_and_come_back(client, db, s3, operator, tmp_path):
    s3_client, bucket = s3
    data = image("WEBP")
    response = post(client, data, bearer(operator))
    assert response.status_code == 201, response.get_data(as_text=True)
    stored = db.session.get(StoredFile, response.get_json()["id"])
    assert object_keys(s3_client, bucket) == ["test/" + stored.storage_key]
    assert (
        s3_client.get_object(Bucket=bucket, Key="test/" + stored.storage_key)["Body"].read() == data
    )
    assert not (tmp_path / "never-used").exists()
    download = client.get(f"{UPLOADS}/{stored.id}", headers=bearer(operator))
    assert download.status_code == 200 and download.data == data
    assert download.mimetype == "image/webp"
    download.close()
    # Deleting removes the object too.
    storage.delete_file(stored)
    assert object_keys(s3_client, bucket) == []
    with pytest.raises(NotFound):
        storage.get_storage().open(stored.storage_key)


def test_a_missing_object_is_a_404(client, db, s3, operator):
    s3_client, bucket = s3
    file_id = post(client, image("PNG"), bearer(operator)).get_json()["id"]
    s3_client.delete_object(
        Bucket=bucket, Key="test/" + db.session.get(StoredFile, file_id).storage_key
    )
    assert_error(client.get(f"{UPLOADS}/{file_id}", headers=bearer(operator)), 404, "file_missing")


def test_a_missing_bucket_is_a_503_and_nothing_is_kept(client, db, s3, operator, app, monkeypatch):
    s3_client, bucket = s3
    monkeypatch.setitem(app.config, "S3_BUCKET", "no-such-bucket")
    assert_error(post(client, image("PNG"), bearer(operator)), 503, "storage_unavailable")
    assert stored_count() == 0
    assert object_keys(s3_client, bucket) == []


def test_a_refused_upload_reaches_no_bucket(client, db, s3, operator):
    s3_client, bucket = s3
    assert_error(post(client, ELF, bearer(operator)), 422, "upload_type_refused")
    assert object_keys(s3_client, bucket) == []


def test_label_sheets_use_the_same_backend(db, s3, operator):
    s3_client, bucket = s3
    stored = storage.save_stream(
        lambda out: out.write(b"%PDF-1.4 label sheet"),
        filename="labels.pdf",
        content_type="application/pdf",
        prefix="labels",
        by=operator,
    )
    assert object_keys(s3_client, bucket) == ["test/" + stored.storage_key]
    with storage.open_file(stored) as handle:
        assert handle.read() == b"%PDF-1.4 label sheet"


@pytest.mark.parametrize(
    ("settings", "mention"),
    [
        ({"STORAGE_BACKEND": "ftp"}, "STORAGE_BACKEND"),
        ({"STORAGE_BACKEND": "s3", "S3_BUCKET": None}, "S3_BUCKET"),
    ],
)
def test_storage_settings_are_checked_at_start(settings, mention):
    defaults = {name: getattr(TestingConfig, name) for name in dir(TestingConfig)}
    values = {**{k: v for k, v in defaults.items() if k.isupper()}, **settings}
    with pytest.raises(ConfigError, match=mention):
        TestingConfig.validate(values)
    TestingConfig.validate({**values, "STORAGE_BACKEND": "s3", "S3_BUCKET": "b"})
