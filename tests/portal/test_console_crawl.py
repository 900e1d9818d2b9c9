"""Every console page a regulator or an inspector can reach by links, on the demo data.

The crawl starts at the console's home, follows every link that stays in /console (GET
only, no downloads of exports), and requires an HTML page without a server error on each.
It finds pages that only break on real-looking data: the demo seed's 44 workshops, their
inspections, samples, plans, trainings, complaints and cameras.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

import pytest

from backend.accounts.models import Role
from tests.support.console import logged_in

LINK = re.compile(r'href="([^"#]+)"')
MAX_PAGES = 400
# Files rather than pages: exports, templates, photos, reports, snapshots.
FILES = re.compile(r"\.(csv|xlsx|pdf|png|jpe?g|webp)$|/(photo|report|snapshot)s?(/|$)")


def _links(page_url: str, html: str) -> list[str]:
    """The console links on a page, made absolute, without fragments."""
    found = []
    for href in LINK.findall(html):
        href = href.replace("&amp;", "&")
        url = urljoin(page_url, href)
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or not parts.path.startswith("/console"):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if "/logout" in path or "/language" in path or FILES.search(parts.path):
            continue
        found.append(path)
    return found


def _shape(path: str) -> str:
    """The path with its numbers blanked, so each kind of page is visited a few times only."""
    return re.sub(r"\d+", "N", path.split("?")[0])


@pytest.mark.parametrize("role", [Role.REGULATOR, Role.INSPECTOR])
def test_every_linked_console_page_renders_on_the_demo_data(client, runner, role):
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    logged_in(client, role)
    queue, seen, shapes = ["/console/"], set(), {}
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen or shapes.get(_shape(path), 0) >= 3:
            continue
        seen.add(path)
        shapes[_shape(path)] = shapes.get(_shape(path), 0) + 1
        response = client.get(path)
        assert response.status_code in (200, 302, 403), (path, response.status_code)
        if response.status_code != 200:
            # Only regulator-only forms may refuse, and only an inspector.
            assert response.status_code != 403 or role is Role.INSPECTOR, path
            continue
        assert response.mimetype == "text/html", path
        queue.extend(_links("http://localhost" + path, response.get_data(as_text=True)))
    kinds = {_shape(p).split("/")[2] for p in seen if p.count("/") >= 2}
    # The crawl reached every part of the console.
    assert {"registry", "inspections", "samples", "plans", "training", "complaints"} <= kinds
    assert "cameras" in kinds
