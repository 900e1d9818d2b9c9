"""What the console tests of samples post and read: forms as a browser fills them, and
where an error shows."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from sqlalchemy import func, select

from backend.batches.models import BatchStateChange
from backend.core.time import SHANGHAI, utcnow
from backend.files.models import StoredFile
from backend.samples.models import Sample, TestResult
from tests.support.console import submit, text

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def local(dt: datetime) -> str:
    """A time as the datetime-local input sends it."""
    return dt.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def sample_form(batch, **overrides) -> dict:
    """A valid rapid sample of *batch* by the rapid-test vehicle."""
    data = {
        "workshop_id": str(batch.workshop_id),
        "product_id": str(batch.product_id),
        "batch_no": batch.batch_no,
        "kind": "rapid",
        "task_source": "routine",
        "plan_id": "",
        "sample_no": "",
        "sampled_at": local(utcnow() - timedelta(hours=2)),
        "sampling_place": "半里加工区成品库",
        "testing_agency": "长泰区快检车",
        "station": "快检车 KJC-03",
    }
    data.update(overrides)
    return data


def new_page(batch) -> str:
    return f"/console/samples/new?workshop_id={batch.workshop_id}"


def record_sample(client, batch, **overrides) -> str:
    """Record a sample through the form; its number."""
    response = submit(client, new_page(batch), sample_form(batch, **overrides))
    assert response.status_code == 302, text(response)[:3000]
    return response.headers["Location"].rsplit("/", 1)[-1]


ROW = re.compile(r'name="rows-(\d+)-item_code" type="hidden" value="([a-z0-9_]+)"')


def rows_of(client, sample_no: str) -> dict[str, int]:
    """The results form's rows: item code → row number."""
    page = text(client.get(f"/console/samples/{sample_no}"))
    return {code: int(index) for index, code in ROW.findall(page)}


def results_form(client, sample_no: str, readings: dict, **extra) -> dict:
    """The results form as a browser posts it: every row, the given ones filled in."""
    rows = rows_of(client, sample_no)
    assert rows, "no results form on the page"
    data = {}
    for code, index in rows.items():
        reading = readings.get(code, {})
        prefix = f"rows-{index}-"
        data[prefix + "item_code"] = code
        data[prefix + "method"] = reading.get("method", "")
        data[prefix + "value"] = reading.get("value", "")
        data[prefix + "unit"] = reading.get("unit", "g/kg" if code != "lead" else "mg/kg")
        data[prefix + "qualitative"] = reading.get("qualitative", "")
        data[prefix + "device_no"] = reading.get("device_no", "")
    data["tested_at"] = extra.pop("tested_at", local(utcnow() - timedelta(minutes=30)))
    data["action_taken"] = extra.pop("action_taken", "")
    data["complete"] = extra.pop("complete", "y")
    data.update(extra)
    return data


def post_results(client, sample_no: str, readings: dict, **extra):
    page = f"/console/samples/{sample_no}"
    return submit(
        client,
        page,
        results_form(client, sample_no, readings, **extra),
        action=f"{page}/results",
    )


def counts(db) -> tuple[int, int, int, int]:
    return (
        db.session.scalar(select(func.count(Sample.id))),
        db.session.scalar(select(func.count(TestResult.id))),
        db.session.scalar(select(func.count(BatchStateChange.id))),
        db.session.scalar(select(func.count(StoredFile.id))),
    )


POSITIVE = {"benzoic_acid": {"method": "胶体金法", "qualitative": "positive", "device_no": "KJ-7"}}


def error_near(page: str, field: str, message: str) -> bool:
    """Whether *message* sits in the error list right under *field*."""
    marker = f'id="{field}-errors"'
    return marker in page and message in page[page.index(marker) : page.index(marker) + 600]


def upload(client, sample_no: str, content: bytes, name: str = "report.pdf"):
    page = f"/console/samples/{sample_no}"
    return submit(
        client,
        page,
        {"file": (io.BytesIO(content), name)},
        action=f"{page}/report",
        content_type="multipart/form-data",
    )
