"""XSS: text that people typed comes out escaped wherever it is shown.

Two ways in, both checked where the text is rendered (portal pages, the H5 scan page and
every console page a crawl reaches):

- through the front doors: a consumer's complaint by the portal form and by the API, an
  operator's raw-material acceptance, production record and sale through the API;
- everywhere at once: every free-text column of the demo data (workshop and product names,
  addresses, staff, suppliers, inspection notes, hazards, plans, trainings, cameras,
  complaints and their replies...) overwritten with the payload, as if regulators,
  inspectors and operators had typed it.

A page passes when the payload's markup never appears live (only as ``&lt;...``) and the page
is not a server error.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

from sqlalchemy import Enum, String, Text, cast, literal, select, update

from backend.accounts.models import Role
from backend.codes.models import UnitCode
from backend.complaints.models import Complaint
from backend.core.models import Base
from tests.support.console import logged_in, submit
from tests.support.workshop_day import now_iso

LONG = "\"'><img src=x onerror=alert(1)><script>alert(2)</script>"
SHORT = "<script>alert(3)</script>"
LIVE = re.compile(r"<script>alert\(|<img src=x onerror", re.IGNORECASE)
LINK = re.compile(r'href="([^"#]+)"')
FILES = re.compile(r"\.(csv|xlsx|pdf|png|jpe?g|webp|ico|css|js|svg|txt)$|/(photo|report|snapshot)")
SKIP_PATHS = re.compile(r"/logout|/language|^/static/|^/api/|^/01/|^/metrics")
# Columns that hold identifiers, numbers in text form or machine values, not free text.
NOT_FREE_TEXT = re.compile(
    r"(^|_)(no|code|hash|sha256|key|url|gtin|phone|email|username|token|slug|status|kind|unit"
    r"|scheme|lang|locale|type|reference|moderation|region|openid|path|secret|filename|channel"
    r"|result|verdict|comparison|method|area|app|stream|sha|digest|licence|license|credit)s?$"
)


def free_text_columns():
    """(table, column) for every free-text column long enough to hold the short payload."""
    for table in Base.metadata.sorted_tables:
        if table.name in {"alembic_version", "audit_log", "idempotency_records"}:
            continue
        for column in table.columns:
            kind = column.type
            if isinstance(kind, Enum) or not isinstance(kind, (String, Text)):
                continue
            if column.primary_key or column.foreign_keys or column.unique:
                continue
            if NOT_FREE_TEXT.search(column.name):
                continue
            length = getattr(kind, "length", None)
            if length is not None and length < len(SHORT) + 8:
                continue
            yield table, column


def poison_everything(db) -> int:
    """Write the payload into every free-text column of every row; return how many columns.

    Each value ends with the row's id, as names are unique within a workshop, a year...
    """
    count = 0
    for table, column in free_text_columns():
        length = getattr(column.type, "length", None)
        value = LONG if length is None or length >= len(LONG) + 8 else SHORT
        ids = [c for c in table.primary_key.columns]
        tail = cast(ids[0], String) if len(ids) == 1 else literal("")
        db.session.execute(update(table).values({column.name: literal(value).concat(tail)}))
        count += 1
    db.session.flush()
    return count


def crawl(client, start: list[str], *, inside: str, limit: int = 400) -> dict[str, str]:
    """Visit pages from *start*, following links under *inside*; {path: html}."""
    queue, pages, shapes = list(start), {}, {}
    while queue and len(pages) < limit:
        path = queue.pop(0)
        shape = re.sub(r"\d+", "N", path.split("?")[0])
        if path in pages or shapes.get(shape, 0) >= 2:
            continue
        shapes[shape] = shapes.get(shape, 0) + 1
        response = client.get(path)
        response.close()
        assert response.status_code < 500, (path, response.status_code)
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        pages[path] = html
        for href in LINK.findall(html):
            url = urlsplit(urljoin("http://localhost" + path, href.replace("&amp;", "&")))
            target = url.path + (f"?{url.query}" if url.query else "")
            if url.netloc not in ("", "localhost") or not url.path.startswith(inside):
                continue
            if SKIP_PATHS.search(url.path) or FILES.search(url.path):
                continue
            queue.append(target)
    return pages


def assert_escaped(pages: dict[str, str]) -> None:
    """No page shows the payload as live markup."""
    live = {path: LIVE.search(html).group(0) for path, html in pages.items() if LIVE.search(html)}
    assert not live, f"unescaped payload on {live}"


def scan_pages(db) -> list[str]:
    """One H5 scan page per batch (a few)."""
    codes = db.session.scalars(
        select(UnitCode.code).group_by(UnitCode.issuance_id, UnitCode.code).limit(40)
    ).all()
    return [f"/t/{code}" for code in codes[::4]]


def test_free_text_everywhere_is_escaped(client, runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    assert poison_everything(db) >= 30
    public = crawl(client, ["/", "/workshops/", "/results/", "/live/", *scan_pages(db)], inside="/")
    assert len(public) >= 10 and any(p.startswith("/t/") for p in public)
    assert sum(LONG.replace("&", "&amp;")[:5] in html for html in public.values()) == 0
    assert any("&lt;script&gt;alert(" in html for html in public.values())  # it was shown
    assert_escaped(public)
    for role in (Role.REGULATOR, Role.INSPECTOR):
        client.delete_cookie("session")
        logged_in(client, role)
        console = crawl(client, ["/console/"], inside="/console")
        assert len(console) >= 30
        assert any("&lt;script&gt;alert(" in html for html in console.values())
        assert_escaped(console)


def test_consumers_complaints_are_escaped_in_the_console(client, db, shop):
    w = shop.workshop.id
    form = {"content": LONG, "contact_name": SHORT, "workshop_id": w}
    response = submit(client, f"/complaints/new?workshop={w}", form, action="/complaints/new")
    assert response.status_code in (302, 303), response.status_code
    api = client.post(
        "/api/v1/complaints", json={"content": LONG, "contact_name": SHORT, "workshop_id": w}
    )
    assert api.status_code == 201, api.get_json()
    ids = db.session.scalars(select(Complaint.id).where(Complaint.content == LONG)).all()
    assert len(ids) == 2
    logged_in(client, Role.REGULATOR)
    pages = {p: client.get(p).get_data(as_text=True) for p in ["/console/complaints/"]}
    pages |= {
        f"/console/complaints/{i}": client.get(f"/console/complaints/{i}").get_data(as_text=True)
        for i in ids
    }
    assert all("&lt;" in html for html in pages.values())  # shown, as text
    assert_escaped(pages)


def test_operators_entries_are_escaped_on_the_scan_page_and_in_the_console(client, db, shop):
    w, headers = shop.workshop.id, shop.owner_headers
    entry = {
        "occurred_at": now_iso(minutes=-30),
        "supplier_id": shop.supplier.id,
        "material_name": SHORT,
        "quantity": 10,
        "unit": "kg",
        "supplier_licence_checked": True,
        "certificate_checked": True,
        "note": LONG,
    }
    response = client.post(
        f"/api/v1/workshops/{w}/ledgers/raw_acceptance", json=entry, headers=headers
    )
    assert response.status_code in (201, 422), response.get_json()
    if response.status_code == 422:  # no free note on this ledger: send what it takes
        entry.pop("note")
        response = client.post(
            f"/api/v1/workshops/{w}/ledgers/raw_acceptance", json=entry, headers=headers
        )
        assert response.status_code == 201, response.get_json()
    logged_in(client, Role.REGULATOR)
    pages = crawl(client, [f"/console/registry/{w}"], inside="/console", limit=60)
    assert_escaped(pages)
