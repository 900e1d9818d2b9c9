"""The role × route matrix for every page: the console, the portal, the scan page, the rest.

``/api/v1`` has its own matrix (tests/security/test_authorization_matrix.py, which fails on an API
rule it does not list). Every other (method, rule) of ``app.url_map`` must be classified in
ACCESS below, or the first test fails, so a new page cannot skip the matrix:

- ``public``: anyone, no login (the portal, the H5 scan page, the resolver, health);
- ``open``: the console's login and language switch;
- ``console``: any console account (regulators and inspectors); anyone else goes to login;
- ``regulator``: regulators only; an inspector gets the 403 page;
- ``secret``: machine callers proving a shared secret or an allowed address.

On the seeded demo data every route is then tried with real ids: anonymously (sent to the
login page, nothing written, even with a valid CSRF token), as an inspector (refused where
only regulators may go, nothing written) and by the roles allowed (never 401/403 or 5xx).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from backend.accounts.models import Role
from backend.core.models import Base
from tests.security.routes import UNSAFE, all_routes, build_path, demo_values
from tests.support.console import console_user, csrf_token, logged_in, login

PUBLIC, OPEN, CONSOLE, REGULATOR, SECRET = "public", "open", "console", "regulator", "secret"

ACCESS: dict[tuple[str, str], str] = {
    # the portal, the scan page, the resolver and the machines' endpoints
    ("GET", "/"): PUBLIC,
    ("GET", "/.well-known/gs1resolver"): PUBLIC,
    ("GET", "/01/<path:rest>"): PUBLIC,
    ("GET", "/brands/<code>"): PUBLIC,
    ("GET", "/complaints/filed"): PUBLIC,
    ("GET", "/complaints/new"): PUBLIC,
    ("POST", "/complaints/new"): PUBLIC,
    ("GET", "/favicon.ico"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/language/<code>"): PUBLIC,
    ("GET", "/live/"): PUBLIC,
    ("GET", "/live/cameras/<int:camera_id>/snapshot.jpg"): PUBLIC,
    ("GET", "/live/workshops/<int:workshop_id>"): PUBLIC,
    ("GET", "/lot/<gtin>/<path:batch_no>"): PUBLIC,
    ("GET", "/products/<int:product_id>"): PUBLIC,
    ("GET", "/results/"): PUBLIC,
    ("GET", "/static/<path:filename>"): PUBLIC,
    ("GET", "/t/<path:code>"): PUBLIC,
    ("GET", "/t/WxVerify123.txt"): PUBLIC,
    ("GET", "/workshops/"): PUBLIC,
    ("GET", "/workshops/<int:workshop_id>"): PUBLIC,
    ("GET", "/metrics"): SECRET,
    ("GET", "/streaming/playback-auth"): SECRET,
    ("POST", "/streaming/playback-auth"): SECRET,
    ("POST", "/streaming/nginx-rtmp"): SECRET,
    ("POST", "/streaming/srs"): SECRET,
    # the console
    ("GET", "/console/login"): OPEN,
    ("POST", "/console/login"): OPEN,
    ("GET", "/console/language/<code>"): OPEN,
    ("POST", "/console/logout"): CONSOLE,
    ("GET", "/console/"): CONSOLE,
    ("GET", "/console/cameras/"): CONSOLE,
    ("GET", "/console/cameras/<int:camera_id>"): CONSOLE,
    ("GET", "/console/cameras/<int:camera_id>/edit"): REGULATOR,
    ("POST", "/console/cameras/<int:camera_id>/edit"): REGULATOR,
    ("POST", "/console/cameras/<int:camera_id>/rotate-key"): REGULATOR,
    ("GET", "/console/cameras/<int:camera_id>/snapshot.jpg"): CONSOLE,
    ("GET", "/console/cameras/workshops/<int:workshop_id>"): CONSOLE,
    ("GET", "/console/cameras/workshops/<int:workshop_id>/new"): REGULATOR,
    ("POST", "/console/cameras/workshops/<int:workshop_id>/new"): REGULATOR,
    ("GET", "/console/complaints/"): CONSOLE,
    ("GET", "/console/complaints/<int:complaint_id>"): CONSOLE,
    ("POST", "/console/complaints/<int:complaint_id>/assign"): REGULATOR,
    ("POST", "/console/complaints/<int:complaint_id>/close"): REGULATOR,
    ("POST", "/console/complaints/<int:complaint_id>/respond"): REGULATOR,
    ("GET", "/console/inspections/"): CONSOLE,
    ("GET", "/console/inspections/<int:inspection_id>"): CONSOLE,
    ("GET", "/console/inspections/<int:inspection_id>/conclude"): REGULATOR,
    ("POST", "/console/inspections/<int:inspection_id>/conclude"): REGULATOR,
    ("GET", "/console/inspections/<int:inspection_id>/hazards/new"): REGULATOR,
    ("POST", "/console/inspections/<int:inspection_id>/hazards/new"): REGULATOR,
    ("GET", "/console/inspections/<int:inspection_id>/items"): REGULATOR,
    ("POST", "/console/inspections/<int:inspection_id>/items"): REGULATOR,
    ("GET", "/console/inspections/export.<any(csv, xlsx):fmt>"): CONSOLE,
    ("GET", "/console/inspections/hazards"): CONSOLE,
    ("GET", "/console/inspections/hazards/<int:hazard_id>/close"): REGULATOR,
    ("POST", "/console/inspections/hazards/<int:hazard_id>/close"): REGULATOR,
    ("GET", "/console/inspections/hazards/<int:hazard_id>/rectify"): REGULATOR,
    ("POST", "/console/inspections/hazards/<int:hazard_id>/rectify"): REGULATOR,
    ("POST", "/console/inspections/hazards/<int:hazard_id>/remove"): REGULATOR,
    ("GET", "/console/inspections/new"): REGULATOR,
    ("POST", "/console/inspections/new"): REGULATOR,
    ("GET", "/console/inspections/photos/<int:file_id>"): CONSOLE,
    ("GET", "/console/inspections/rectifications/<int:rectification_id>/review"): REGULATOR,
    ("POST", "/console/inspections/rectifications/<int:rectification_id>/review"): REGULATOR,
    ("GET", "/console/plans/"): CONSOLE,
    ("GET", "/console/plans/<int:plan_id>"): CONSOLE,
    ("GET", "/console/plans/<int:plan_id>/edit"): REGULATOR,
    ("POST", "/console/plans/<int:plan_id>/edit"): REGULATOR,
    ("GET", "/console/plans/<int:plan_id>/targets/new"): REGULATOR,
    ("POST", "/console/plans/<int:plan_id>/targets/new"): REGULATOR,
    ("GET", "/console/plans/new"): REGULATOR,
    ("POST", "/console/plans/new"): REGULATOR,
    ("GET", "/console/plans/publication"): CONSOLE,
    ("POST", "/console/plans/publication"): REGULATOR,
    ("GET", "/console/plans/publication/published"): CONSOLE,
    ("POST", "/console/plans/targets/<int:target_id>/remove"): REGULATOR,
    ("GET", "/console/recalls/"): CONSOLE,
    ("GET", "/console/recalls/recall"): REGULATOR,
    ("POST", "/console/recalls/recall"): REGULATOR,
    ("GET", "/console/recalls/report.<fmt>"): CONSOLE,
    ("GET", "/console/registry/"): CONSOLE,
    ("GET", "/console/registry/<int:workshop_id>"): CONSOLE,
    ("GET", "/console/registry/<int:workshop_id>/edit"): REGULATOR,
    ("POST", "/console/registry/<int:workshop_id>/edit"): REGULATOR,
    ("GET", "/console/registry/<int:workshop_id>/invites/new"): REGULATOR,
    ("POST", "/console/registry/<int:workshop_id>/invites/new"): REGULATOR,
    ("GET", "/console/registry/<int:workshop_id>/staff/new"): REGULATOR,
    ("POST", "/console/registry/<int:workshop_id>/staff/new"): REGULATOR,
    ("GET", "/console/registry/<int:workshop_id>/status"): REGULATOR,
    ("POST", "/console/registry/<int:workshop_id>/status"): REGULATOR,
    ("GET", "/console/registry/export.<any(csv, xlsx):fmt>"): CONSOLE,
    ("GET", "/console/registry/import"): REGULATOR,
    ("POST", "/console/registry/import"): REGULATOR,
    ("POST", "/console/registry/import/confirm"): REGULATOR,
    ("GET", "/console/registry/new"): REGULATOR,
    ("POST", "/console/registry/new"): REGULATOR,
    ("GET", "/console/registry/staff/<int:staff_id>/certificates/new"): REGULATOR,
    ("POST", "/console/registry/staff/<int:staff_id>/certificates/new"): REGULATOR,
    ("GET", "/console/registry/staff/<int:staff_id>/edit"): REGULATOR,
    ("POST", "/console/registry/staff/<int:staff_id>/edit"): REGULATOR,
    ("GET", "/console/registry/template.<any(csv, xlsx):fmt>"): CONSOLE,
    ("GET", "/console/samples/"): CONSOLE,
    ("GET", "/console/samples/<sample_no>"): CONSOLE,
    ("GET", "/console/samples/<sample_no>/batch/<any(hold, release, recall):action>"): REGULATOR,
    ("POST", "/console/samples/<sample_no>/batch/<any(hold, release, recall):action>"): REGULATOR,
    ("GET", "/console/samples/<sample_no>/report"): CONSOLE,
    ("POST", "/console/samples/<sample_no>/report"): CONSOLE,
    ("POST", "/console/samples/<sample_no>/results"): CONSOLE,
    ("GET", "/console/samples/export.<any(csv, xlsx):fmt>"): CONSOLE,
    ("GET", "/console/rules/"): CONSOLE,
    ("GET", "/console/rules/export.<any(csv, xlsx):fmt>"): CONSOLE,
    ("GET", "/console/rules/incidents"): CONSOLE,
    ("POST", "/console/rules/aliases"): REGULATOR,
    ("GET", "/console/samples/new"): CONSOLE,
    ("POST", "/console/samples/new"): CONSOLE,
    ("GET", "/console/training/"): CONSOLE,
    ("GET", "/console/training/<int:training_id>"): CONSOLE,
    ("GET", "/console/training/<int:training_id>/attendance"): REGULATOR,
    ("POST", "/console/training/<int:training_id>/attendance"): REGULATOR,
    ("GET", "/console/training/<int:training_id>/edit"): REGULATOR,
    ("POST", "/console/training/<int:training_id>/edit"): REGULATOR,
    ("GET", "/console/training/new"): REGULATOR,
    ("POST", "/console/training/new"): REGULATOR,
    ("GET", "/console/training/staff/<int:staff_id>"): CONSOLE,
    ("GET", "/console/training/workshops/<int:workshop_id>"): CONSOLE,
}


def page_routes(app):
    """Every route outside /api/v1 (the API has its own matrix)."""
    return [r for r in all_routes(app) if not r.rule.startswith("/api/v1")]


def row_counts(db) -> dict[str, int]:
    """Rows per table, to prove a refused request wrote nothing."""
    return {
        t.name: db.session.scalar(select(func.count()).select_from(t))
        for t in Base.metadata.sorted_tables
    }


def test_every_route_is_in_the_matrix(app):
    routes = {r.key for r in page_routes(app)}
    missing = sorted(routes - ACCESS.keys())
    assert not missing, f"classify these routes in ACCESS: {missing}"
    assert not sorted(ACCESS.keys() - routes), "ACCESS lists routes that no longer exist"


@pytest.fixture()
def demo(app, runner, db):
    """The demo data and a real value for every path argument."""
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    return demo_values(db)


def _send(client, route, path, token=None):
    """Send *route*'s method to *path* (with the CSRF token for unsafe methods)."""
    data = {"csrf_token": token} if token and route.method in UNSAFE else None
    response = client.open(path, method=route.method, data=data)
    response.close()
    return response


def test_anonymous_visitors_are_sent_to_the_login_page(app, client, db, demo):
    token = csrf_token(client, "/console/login")  # a real token does not stand in for a login
    before = row_counts(db)
    for route in page_routes(app):
        if ACCESS[route.key] not in (CONSOLE, REGULATOR):
            continue
        response = _send(client, route, build_path(route.rule, demo), token)
        assert response.status_code == 302, (route, response.status_code)
        assert urlsplit(response.headers["Location"]).path == "/console/login", route
    assert row_counts(db) == before


def test_inspectors_are_refused_the_regulators_pages_and_actions(app, client, db, demo):
    logged_in(client, Role.INSPECTOR)
    token = csrf_token(client, "/console/")
    before = row_counts(db)
    for route in page_routes(app):
        if ACCESS[route.key] != REGULATOR:
            continue
        response = _send(client, route, build_path(route.rule, demo), token)
        assert response.status_code == 403, (route, response.status_code)
        assert response.mimetype == "text/html", route
    assert row_counts(db) == before


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.INSPECTOR])
def test_the_allowed_roles_get_in(app, client, db, demo, role):
    logged_in(client, role)
    allowed = {CONSOLE, PUBLIC, OPEN} | ({REGULATOR} if role is Role.REGULATOR else set())
    for route in page_routes(app):
        if route.method != "GET" or ACCESS[route.key] not in allowed:
            continue
        response = _send(client, route, build_path(route.rule, demo))
        # 404/409: an id the demo data lacks or a state the form does not apply to.
        assert response.status_code in (200, 302, 307, 404, 409), (route, response.status_code)


def test_public_pages_need_no_login(app, client, db, demo):
    for route in page_routes(app):
        if route.method != "GET" or ACCESS[route.key] not in (PUBLIC, OPEN):
            continue
        response = _send(client, route, build_path(route.rule, demo))
        assert response.status_code < 400 or response.status_code == 404, route
        if response.status_code in (301, 302, 303):
            assert "/console/login" not in response.headers["Location"], route


def test_machine_endpoints_want_their_secret(app, client, db):
    outsider = {"REMOTE_ADDR": "203.0.113.9"}
    for route in page_routes(app):
        if ACCESS[route.key] != SECRET:
            continue
        response = client.open(route.rule, method=route.method, environ_base=outsider)
        assert response.status_code in (401, 403), (route, response.status_code)


def test_operators_cannot_log_in_to_the_console(client, db):
    operator = console_user(Role.OPERATOR)
    response = login(client, operator)
    assert response.status_code != 302 or "/console/login" in response.headers["Location"]
    assert client.get("/console/").status_code == 302
