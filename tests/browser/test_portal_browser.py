"""The public portal in a real browser: Playwright for Python driving Debian's Chromium.

Yipin is served by a real WSGI server (werkzeug) in a thread on a free loopback port,
against its own database (a SQLite file, or a PostgreSQL database created for the module
and dropped after it) built by the migrations and filled by the demo seed, really
committed: the suite's per-test rollback cannot be seen from another thread.

Walked: home → workshop directory → filter → workshop → product; the scan page of a
released and of a recalled batch; a complaint filed from the scan page and found in the
console; the language switch. On every page each console message, page error, failed
request, error status and request to a host other than the app's own is recorded, and
there must be none. Screenshots of the key pages at phone (390×844) and desktop
(1366×900) sizes are saved under $YIPIN_SCREENSHOTS (default artifacts/screenshots/).

Skipped, with the reason, only when Chromium or Playwright is missing; ``.ci/run`` installs
both and sets YIPIN_BROWSER_TEST=required, which turns such a skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import flask_migrate
import pytest
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from backend import create_app
from backend.accounts.models import Role, User
from backend.demo.seed import seed_demo
from backend.extensions import db
from tests.conftest import make_config

CHROMIUM = os.environ.get("YIPIN_CHROMIUM", "/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("YIPIN_SCREENSHOTS", ROOT / "artifacts" / "screenshots"))
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser test password"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None


def _missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    if sync_playwright is None:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
    return None


REQUIRED = os.environ.get("YIPIN_BROWSER_TEST") == "required"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(_missing() is not None and not REQUIRED, reason=_missing() or ""),
]


# --- the app, served ----------------------------------------------------------------------


def free_port() -> int:
    """A TCP port free on the loopback interface now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def browser_database(database_url, tmp_path_factory):
    """A database of the suite's kind for the served app alone, dropped afterwards."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield f"sqlite:///{tmp_path_factory.mktemp('browser') / 'portal.db'}"
        return
    import psycopg
    from psycopg import sql

    name = f"{url.database}_browser_{uuid.uuid4().hex[:8]}"
    server = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


class Site:
    """Yipin with the demo data, served on a loopback port in a thread."""

    def __init__(self, database_url: str, uploads: Path):
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.base = f"http://{self.host}"
        self.app = create_app(
            make_config(
                database_url,
                PUBLIC_HOST=self.host,
                PUBLIC_SCHEME="http",
                STREAMING_HLS_BASE_URL=f"{self.base}/hls",
                UPLOAD_DIR=str(uploads),
            )
        )
        with self.app.app_context():
            flask_migrate.upgrade()
            report = seed_demo()
            db.session.add(
                User(
                    role=Role.REGULATOR,
                    username="browser-regulator",
                    display_name="浏览器测试",
                    password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"),
                )
            )
            db.session.commit()
            # the first sample of each state: the normal released one, not the expired one
            self.samples = {s.state: s for s in reversed(report.samples)}
            db.session.remove()
        self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def scan_url(self, state: str) -> str:
        """The demo's sample scan of a batch in *state*, on this server."""
        path = urlsplit(self.samples[state].url).path
        return self.base + path

    def close(self) -> None:
        """Stop serving and let go of the database."""
        self.server.shutdown()
        self.server.server_close()
        with self.app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="module")
def site(browser_database, tmp_path_factory):
    """The served demo."""
    served = Site(browser_database, tmp_path_factory.mktemp("uploads"))
    try:
        yield served
    finally:
        served.close()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium under Playwright (a fresh temporary profile per launch)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


# --- watching every page -------------------------------------------------------------------


class Watch:
    """What went wrong on the pages of one browser context."""

    def __init__(self, site: Site):
        self.site = site
        self.problems: list[str] = []

    def attach(self, page) -> None:
        """Record console messages, page errors, failed and off-host requests of *page*."""
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("request", self._request)
        page.on("response", self._response)

    def _failed(self, request) -> None:
        """A request that failed; one the browser dropped itself because the page moved on
        (net::ERR_ABORTED, e.g. the favicon of a page left at once) is not the site's."""
        if request.failure and "ERR_ABORTED" in request.failure:
            return
        self.problems.append(f"failed: {request.url} ({request.failure})")

    def _request(self, request) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob", "about"):
            return
        if parts.netloc != self.site.host:
            self.problems.append(f"off-host request: {request.url}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def check(self, where: str) -> None:
        """No problem so far (else fail, naming *where*)."""
        problems, self.problems = self.problems, []
        assert problems == [], f"{where}: {problems}"


@pytest.fixture()
def browse(chromium, site):
    """A fresh browser context at phone size with its watch; checked at the end."""
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=1)
    watch = Watch(site)
    context.on("page", watch.attach)
    page = context.new_page()
    try:
        yield page, watch
        watch.check("end of test")
    finally:
        context.close()


def shoot(page, name: str) -> None:
    """Screenshots of the page as it is, at phone and at desktop size."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for label, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size(PHONE)


def go(page, watch, url: str, where: str):
    """Open *url*; it must answer 200 and load without a problem."""
    response = page.goto(url, wait_until="load")
    assert response is not None and response.status == 200, (url, response and response.status)
    watch.check(where)
    return response


# --- the walks -----------------------------------------------------------------------------


def test_home_directory_filter_workshop_product(site, browse):
    page, watch = browse
    go(page, watch, site.base + "/", "home")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.get_by_role("heading", name="六统一").is_visible()
    assert page.locator(".brands").get_by_text("半里红").first.is_visible()
    shoot(page, "home")

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="作坊名录").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/workshops/"
    everything = page.locator(".workshop-card").count()
    assert everything == 44
    shoot(page, "workshops")

    # Choosing a filter applies it at once (JavaScript); the button works without it.
    with page.expect_navigation():
        page.get_by_label("已升级为企业").select_option("yes")
    assert "upgraded=yes" in page.url
    names = page.locator(".workshop-card h2").all_inner_texts()
    assert len(names) == 2
    with page.expect_navigation():
        page.get_by_label("已升级为企业").select_option("")
    with page.expect_navigation():
        page.get_by_label("入驻加工区").select_option("yes")
    assert page.locator(".workshop-card").count() == 10
    watch.check("directory filters")

    page.locator(".workshop-card h2 a").first.click()
    page.wait_for_load_state()
    assert re.search(r"/workshops/\d+$", page.url)
    assert page.get_by_role("heading", name="小作坊登记证").is_visible()
    assert page.get_by_role("heading", name="最近一次监督检查").is_visible()
    watch.check("workshop profile")
    shoot(page, "workshop")

    page.locator("#products ~ ul a").first.click()
    page.wait_for_load_state()
    assert re.search(r"/products/\d+$", page.url)
    assert page.get_by_role("heading", name="生产作坊").is_visible()
    watch.check("product")
    shoot(page, "product")


def test_scan_pages_of_a_released_and_a_recalled_batch(site, browse):
    page, watch = browse
    go(page, watch, site.scan_url("released"), "scan of a released batch")
    assert page.locator(".alert-danger").count() == 0
    assert page.get_by_role("heading", name="检测结果").is_visible()
    shoot(page, "scan-released")

    go(page, watch, site.scan_url("recalled"), "scan of a recalled batch")
    banner = page.locator(".alert-danger").first
    assert banner.is_visible() and "召回" in banner.inner_text()
    # the status panel says so first, before everything else; the banner follows it
    first = page.locator("article.scan > *").first
    assert first.evaluate("e => e.classList.contains('status-panel')")
    assert "已召回" in first.inner_text()
    shoot(page, "scan-recalled")


def test_a_complaint_from_the_scan_page_reaches_the_console(site, browse):
    page, watch = browse
    go(page, watch, site.scan_url("released"), "scan page")
    code = page.locator(".scan-info code").inner_text().strip()
    page.get_by_role("link", name="投诉该产品").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/complaints/new"
    assert page.get_by_label("产品上的追溯码").input_value() == code  # added by portal.js
    page.get_by_label("投诉内容").fill("浏览器测试：酒有沉淀，味道发酸。")
    page.get_by_label("联系电话").fill("13800138000")
    shoot(page, "complaint-form")
    page.get_by_role("button", name="提交投诉").click()
    page.wait_for_load_state()
    assert urlsplit(page.url).path == "/complaints/filed"
    reference = page.locator(".reference").inner_text().strip()
    assert re.fullmatch(r"TS\d{8}-\d{4}", reference)
    watch.check("complaint filed")
    shoot(page, "complaint-filed")

    go(page, watch, site.base + "/console/login", "console login")
    page.get_by_label(re.compile("用户名")).fill("browser-regulator")
    page.get_by_label(re.compile("密码")).fill(PASSWORD)
    page.get_by_role("button", name=re.compile("登录")).click()
    page.wait_for_load_state()
    go(page, watch, site.base + "/console/complaints/", "console complaints")
    row = page.locator("tr", has_text=reference)
    assert row.count() == 1
    assert "扫码页面" in row.text_content()  # the channel column is hidden on phones


def test_the_language_switch_and_the_other_pages(site, browse):
    page, watch = browse
    go(page, watch, site.base + "/workshops/?zone=yes", "directory")
    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert "zone=yes" in page.url
    watch.check("switched to English")
    # the choice holds on the next page
    go(page, watch, site.base + "/", "home in English")
    assert page.locator("html").get_attribute("lang") == "en"
    shoot(page, "home-en")
    page.get_by_role("link", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-CN"

    go(page, watch, site.base + "/results/", "published results")
    assert page.get_by_text("本公示的检验结果仅对所抽检样品的批次和检验项目负责").is_visible()
    shoot(page, "results")
    go(page, watch, site.base + "/live/", "live wall")
    shoot(page, "live-wall")
    go(page, watch, site.base + "/brands/banli-red", "brand")
    shoot(page, "brand")


def test_keyboard_reaches_the_content_first(site, browse):
    page, watch = browse
    go(page, watch, site.base + "/", "home")
    page.keyboard.press("Tab")
    focused = page.evaluate("() => document.activeElement.textContent.trim()")
    assert focused == "跳到正文"
    for img in page.locator("img").all():
        assert img.get_attribute("alt") is not None
    page.keyboard.press("Enter")
    watch.check("keyboard")


def test_the_directory_works_without_javascript(chromium, site):
    context = chromium.new_context(viewport=PHONE, locale="zh-CN", java_script_enabled=False)
    watch = Watch(site)
    context.on("page", watch.attach)
    page = context.new_page()
    try:
        go(page, watch, site.base + "/workshops/", "directory without JavaScript")
        page.get_by_label("已升级为企业").select_option("yes")
        assert "upgraded=yes" not in page.url  # nothing happens until the button
        page.get_by_role("button", name="筛选").click()
        page.wait_for_load_state()
        assert "upgraded=yes" in page.url
        assert page.locator(".workshop-card").count() == 2
        watch.check("filtered without JavaScript")
    finally:
        context.close()
