"""SQL injection: hostile strings in every parameter are data, never SQL.

Every GET route of ``app.url_map`` (pages and API) is called with each injection string in
each of its text path segments and in every query argument the app reads, by a logged-in
regulator (console session and API token); every JSON field of every API operation in
``/api/v1/openapi.json`` gets them too, sent by an operator. Nothing may answer 5xx, no GET
may change a row (scans excepted: a scan is recorded, that is its job), and no table loses
rows or disappears.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from sqlalchemy import func, inspect, select

from backend.accounts.models import MemberRole, Role, User, WorkshopMembership
from backend.accounts.tokens import issue_token
from tests.security.routes import all_routes, arguments, build_path, demo_values
from tests.security.test_route_matrix import row_counts
from tests.support.console import logged_in, submit

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE workshops; --",
    "x' UNION SELECT username, password_hash FROM users --",
    "1' AND 1=CAST((SELECT password_hash FROM users LIMIT 1) AS int) --",
    "'; SELECT pg_sleep(3); --",
    "%' OR name LIKE '%",
    '") OR ("1"="1',
    "\\'; --",
    "nul\x00byte",  # PostgreSQL cannot hold NUL in text: refused before any view (400)
]
# Every query argument the pages and the API read (request.args and the API's schemas).
QUERY_ARGS = [
    "action", "batch", "category", "code", "item", "kind", "lang", "live", "mine", "next",
    "outcome", "overdue", "page", "per_page", "product_type", "q", "region", "secret",
    "status", "task_source", "township", "upgraded", "via", "workshop", "workshop_id", "year",
    "zone", "batch_no", "sample_no", "gtin", "from", "to", "date", "since", "until", "fmt",
    "depth", "limit", "cursor", "type", "linkType", "sort",
]  # fmt: skip
TEXT_CONVERTERS = {None, "default", "string", "path"}
RECORDED_BY_GETS = {"scan_events", "audit_log"}  # scans are recorded, exports audited


def _unchanged(before: dict, after: dict) -> None:
    """No table but the scan log changed."""
    changed = {t for t in before if before[t] != after[t] and t not in RECORDED_BY_GETS}
    assert not changed, {t: (before[t], after[t]) for t in changed}


def _get(client, path: str, headers: dict):
    """GET *path*; assert it is no server error."""
    response = client.get(path, headers=headers)
    response.close()
    if response.status_code == 503 and response.is_json:  # WeChat is not configured in tests
        assert response.json["error"].startswith("wechat"), (path, response.json)
        return response
    assert response.status_code < 500, (path, response.status_code)
    return response


def test_hostile_strings_in_every_path_and_query_argument(app, client, runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    values = demo_values(db)
    regulator = logged_in(client, Role.REGULATOR)
    api = {"Authorization": f"Bearer {issue_token(regulator)}"}
    tables = set(inspect(db.session.connection()).get_table_names())
    before = row_counts(db)
    routes = [r for r in all_routes(app) if r.method == "GET" and r.rule != "/console/logout"]
    for route in routes:
        if route.rule.startswith(("/static/", "/console/language", "/language/")):
            continue
        headers = api if route.rule.startswith("/api/") else {}
        for injection in INJECTIONS:
            path = build_path(route.rule, values)
            query = urlencode({name: injection for name in QUERY_ARGS})
            _get(client, f"{path}?{query}", headers)
            for converter, name in arguments(route.rule):
                if converter in TEXT_CONVERTERS:
                    hostile = quote(injection, safe="")
                    _get(client, build_path(route.rule, values, {name: hostile}), headers)
    _unchanged(before, row_counts(db))
    assert set(inspect(db.session.connection()).get_table_names()) == tables


def _hostile_body(schema: dict, spec: dict, injection: str) -> dict:
    """A JSON body for *schema* whose every string (top level and one level down) is hostile."""
    if "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    body = {}
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        if "$ref" in prop:
            body[name] = _hostile_body(prop, spec, injection)
        elif prop.get("type") == "array":
            item = prop.get("items", {})
            body[name] = [_hostile_body(item, spec, injection) if "$ref" in item else injection]
        elif prop.get("type") in ("integer", "number"):
            body[name] = 1
        elif prop.get("type") == "boolean":
            body[name] = True
        else:
            body[name] = injection
    return body


def test_hostile_strings_in_every_json_field(app, client, runner, db):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    values = demo_values(db)
    membership = db.session.scalars(
        select(WorkshopMembership).where(
            WorkshopMembership.active.is_(True), WorkshopMembership.role == MemberRole.OWNER
        )
    ).first()
    operator = db.session.get(User, membership.user_id)
    values["workshop_id"] = membership.workshop_id
    regulator = logged_in(client, Role.REGULATOR)
    callers = [
        {"Authorization": f"Bearer {issue_token(operator)}"},
        {"Authorization": f"Bearer {issue_token(regulator)}"},
    ]
    spec = client.get("/api/v1/openapi.json").get_json()
    users = db.session.scalar(select(func.count()).select_from(User))
    sent = 0
    for rule, operations in spec["paths"].items():
        flask_rule = rule.replace("{", "<").replace("}", ">")
        for method, operation in operations.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            for injection in INJECTIONS:
                body = _hostile_body(schema, spec, injection)
                for headers in callers:
                    response = client.open(
                        build_path(flask_rule, values),
                        method=method.upper(),
                        json=body,
                        headers={**headers, "Idempotency-Key": f"sqli-{sent}"},
                    )
                    sent += 1
                    assert response.status_code < 500, (method, rule, body, response.json)
    assert sent > 100
    assert db.session.scalar(select(func.count()).select_from(User)) >= users


def test_nul_characters_are_refused_before_any_view(client, db, shop):
    """PostgreSQL cannot hold NUL in text; a request carrying one is a 400, not a 500."""
    user = logged_in(client, Role.REGULATOR)
    api = {"Authorization": f"Bearer {issue_token(user)}"}
    for path in ("/console/registry/?q=a%00b", "/brands/a%00b", "/workshops/?q=%00"):
        response = client.get(path)
        assert response.status_code == 400 and response.mimetype == "text/html", path
    response = client.get("/api/v1/zones/a%00b", headers=api)
    assert response.status_code == 400 and response.get_json()["error"] == "nul_character"
    before = row_counts(db)
    response = client.post(
        f"/api/v1/workshops/{shop.workshop.id}/ledgers/cleaning",
        data='{"what": "a\\u0000b", "how": "x", "occurred_at": "2026-11-26T10:00:00+08:00"}',
        content_type="application/json",
        headers=shop.owner_headers,
    )
    assert response.status_code == 400 and response.get_json()["error"] == "nul_character"
    assert row_counts(db) == before


def test_ids_past_32_bits_find_nothing(client, db, shop):
    """A number no id can be is the view's own 404, not an overflow in the database."""
    huge = "99999999999999999999999"
    logged_in(client, Role.REGULATOR)
    for path in (f"/console/registry/{huge}", f"/workshops/{huge}", f"/live/workshops/{huge}"):
        assert client.get(path).status_code == 404, path
    response = client.get(f"/api/v1/workshops/{huge}/ledgers", headers=shop.regulator_headers)
    assert response.status_code == 404 and response.get_json()["error"] == "workshop_not_found"


def test_nul_characters_in_console_forms_are_refused(client, db):
    logged_in(client, Role.REGULATOR)
    before = row_counts(db)
    response = submit(client, "/console/registry/new", {"name": "坊\x00洋", "address": "x"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert row_counts(db) == before
