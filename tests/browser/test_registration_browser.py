"""Registration standing in a real browser at phone size (390×844): the public profile and
the scan page of a workshop whose certificate expired, and of one a regulator suspended,
say so in words. Served, watched and photographed as in test_portal_browser.py (the
screenshots go under $YIPIN_SCREENSHOTS)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from backend.accounts.models import User
from backend.batches.models import Batch, BatchState
from backend.codes.models import CodeStatus, UnitCode
from backend.extensions import db
from backend.registry import filing
from backend.registry.models import Workshop, WorkshopStatus
from backend.registry.standing import Standing, registration_standing
from tests.browser import test_portal_browser as served
from tests.browser.test_portal_browser import PHONE, SCREENSHOTS, go

# The served demo, Chromium and the watched phone-size context of the portal's browser test.
pytestmark = served.pytestmark
browser_database = served.browser_database
site = served.site
chromium = served.chromium
browse = served.browse


def _code_of(workshop: Workshop, *conditions) -> str:
    """An active code of a released batch of *workshop* (newest batch first)."""
    return db.session.scalar(
        select(UnitCode.code)
        .join(Batch, UnitCode.batch_id == Batch.id)
        .where(
            Batch.workshop_id == workshop.id,
            Batch.state == BatchState.RELEASED,
            UnitCode.status == CodeStatus.ACTIVE,
            *conditions,
        )
        .order_by(Batch.produced_on.desc(), UnitCode.serial)
        .limit(1)
    )


def _cases(site) -> dict:
    """The demo's expired workshop with a batch made after expiry, and a workshop the test
    suspends (committed, so the served app sees it): {name: (workshop id, date, code)}."""
    with site.app.app_context():
        active = db.session.scalars(
            select(Workshop).where(Workshop.status == WorkshopStatus.ACTIVE).order_by(Workshop.id)
        ).all()
        cases = {}
        for workshop in active:
            standing = registration_standing(workshop)
            if standing.state is Standing.EXPIRED and "expired" not in cases:
                code = _code_of(workshop, Batch.produced_on > workshop.cert_valid_until)
                if code:
                    cases["expired"] = (workshop.id, standing.since.isoformat(), code)
            elif standing.valid and "suspended" not in cases and workshop.cert_long_term is False:
                code = _code_of(workshop)
                if code:
                    regulator = db.session.scalar(
                        select(User).where(User.username == "browser-regulator")
                    )
                    change = filing.change_status(
                        workshop.id, "suspend", by=regulator, reason="浏览器测试：停产整改"
                    )
                    db.session.commit()
                    day = registration_standing(workshop).since.isoformat()
                    cases["suspended"] = (workshop.id, day, code)
                    assert change.to_status is WorkshopStatus.SUSPENDED
        db.session.remove()
    assert set(cases) == {"expired", "suspended"}, cases
    return cases


EXPECTED = {
    "expired": "该作坊的登记证已于 {day} 过期，尚未换证。",
    "suspended": "该作坊已于 {day} 被责令停产整改。",
}


def test_profile_and_scan_say_why_an_expired_or_suspended_workshop_may_not_trade(site, browse):
    page, watch = browse
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for state, (workshop_id, day, code) in _cases(site).items():
        when = date.fromisoformat(day)
        sentence = EXPECTED[state].format(day=f"{when.year}年{when.month}月{when.day}日")

        go(page, watch, f"{site.base}/workshops/{workshop_id}", f"profile ({state})")
        alert = page.locator(".registration-alert")
        assert alert.is_visible() and sentence in alert.inner_text()
        box = alert.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
        status = page.locator("dt:has-text('状态') + dd").inner_text()
        assert status != "在产" and ("过期" in status or "停产整改" in status), status
        page.screenshot(path=str(SCREENSHOTS / f"registration-{state}-profile-phone.png"))

        go(page, watch, f"{site.base}/t/{code}", f"scan ({state})")
        # In the status panel, on the first screen of the phone.
        warning = page.locator(".status-panel .registration-note")
        assert warning.is_visible() and sentence in warning.inner_text()
        box = warning.bounding_box()
        assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
        if state == "expired":
            made_after = page.locator(".status-panel [data-made-after-expiry]")
            assert made_after.is_visible() and "登记证已过期" in made_after.inner_text()
        page.screenshot(path=str(SCREENSHOTS / f"registration-{state}-scan-phone.png"))
        page.screenshot(
            path=str(SCREENSHOTS / f"registration-{state}-scan-phone-full.png"), full_page=True
        )
