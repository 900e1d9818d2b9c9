"""The H5 scan page answers first: the status panel (status, product, workshop, production
date, test verdict, registration), in words and symbols as well as colour, in Chinese and
English; internal data-quality notes never reach it."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from backend.batches.models import AdditiveUse, BatchState
from backend.batches.states import change_state
from backend.core.time import local_today
from backend.rules import standards
from backend.scan import alerts as scan_alerts
from backend.scan import story
from backend.scan.caching import forget_batch


def panel(page: str) -> str:
    """The status panel's HTML."""
    match = re.search(r'<section class="status-panel.*?</section>', page, re.S)
    assert match, page
    return match.group(0)


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


def verify_lead(db, verified=True):
    standards.limit_for("huangjiu", "lead").verified = verified
    db.session.flush()


def test_a_released_batch_that_passed(client, db, wine):
    batch, codes = wine
    verify_lead(db)
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    html = panel(page)
    assert "tone-ok status-released" in html
    words = text(html)
    assert words.startswith("✓ 已放行 半里红曲酒 半里林氏红曲酒坊")
    assert "生产日期 2026年11月20日" in words
    assert "检测结论 ✓ 合格 2026年11月22日" in words
    # the panel comes before the alerts, the scan notice and every detail
    assert page.index("status-panel") < page.index("scan-info") < page.index("产品信息")
    # the product name is the page's one h1
    assert page.count("<h1") == 1 and "半里红曲酒</h1>" in html


def test_the_english_panel(client, db, wine):
    _, codes = wine
    verify_lead(db)
    page = client.get(f"/t/{codes[0]}?lang=en").get_data(as_text=True)
    words = text(panel(page))
    assert words.startswith("✓ Released")
    assert "Production date Nov 20, 2026" in words
    assert "Test verdict ✓ Pass Nov 22, 2026" in words
    # no Chinese label left in the panel (names of the product and workshop are data)
    labels = re.findall(r"<(?:dt|p class=\"status-word\"[^>]*)>(.*?)</", panel(page))
    assert labels and not any(re.search(r"[\u4e00-\u9fff]", label) for label in labels)


def test_unverified_limits_make_no_verdict_and_no_note(client, db, wine):
    _, codes = wine
    verify_lead(db, verified=False)
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert "检测结论 ? 待检" in text(panel(page))
    for note in ("待核实", "尚待", "未经核对", "verified"):
        assert note not in page
    tests = page[page.index('class="card tests"') :]
    assert "合格" not in tests[: tests.index("</section>")]  # the reading, without a verdict
    assert "0.05 mg/kg" in tests


def test_held_recalled_and_expired_batches(client, db, wine):
    batch, codes = wine
    change_state(batch, BatchState.HELD, reason="苯甲酸快检阳性")
    html = panel(client.get(f"/t/{codes[0]}").get_data(as_text=True))
    assert "tone-caution status-held" in html and text(html).startswith("! 已暂控")
    change_state(batch, BatchState.RECALLED, reason="实验室确认不合格")
    html = panel(client.get(f"/t/{codes[1]}?lang=en").get_data(as_text=True))
    assert "tone-danger status-recalled" in html and text(html).startswith("✕ Recalled")


def test_past_its_shelf_life_the_page_changes_with_the_day(client, db, wine, monkeypatch):
    batch, codes = wine
    batch.expires_on = local_today() + timedelta(days=1)
    db.session.flush()
    forget_batch(batch.id)
    html = panel(client.get(f"/t/{codes[0]}").get_data(as_text=True))
    assert "status-released" in html and "保质期至" in text(html)
    # a day later the cached page is rendered again: 已过期
    tomorrow = local_today() + timedelta(days=2)
    monkeypatch.setattr(scan_alerts, "local_today", lambda: tomorrow)
    html = panel(client.get(f"/t/{codes[0]}").get_data(as_text=True))
    assert "tone-caution status-expired" in html and text(html).startswith("! 已过期")


@pytest.fixture()
def registration(monkeypatch):
    """Give the view the workshop's registration (built by the registration gate)."""
    state = {}

    def build(batch_id):
        built = original(batch_id)
        if state:
            built["workshop"]["registration"] = dict(state)
        else:  # nothing known: as if the standing had not been built
            built["workshop"].pop("registration", None)
        return built

    original = story.build_view
    monkeypatch.setattr(story, "build_view", build)
    return state


def test_registration_valid_or_not(client, db, wine, registration):
    batch, codes = wine
    html = panel(client.get(f"/t/{codes[0]}").get_data(as_text=True))
    assert "登记证" not in html  # nothing said when nothing is known
    registration.update(valid=True, state="valid", valid_until=str(date(2028, 3, 1)), message=None)
    forget_batch(batch.id)
    html = panel(client.get(f"/t/{codes[0]}").get_data(as_text=True))
    assert "登记证 ✓ 有效 至 2028年3月1日" in text(html) and "tone-ok" in html
    registration.update(
        valid=False,
        state="expired",
        valid_until="2026-10-01",
        message="该作坊的登记证已于 2026年10月1日 过期。",
    )
    forget_batch(batch.id)
    html = panel(client.get(f"/t/{codes[0]}").get_data(as_text=True))
    words = text(html)
    assert "登记证 ✕ 已于 2026年10月1日 过期" in words
    assert "该作坊的登记证已于 2026年10月1日 过期。" in words and "tone-caution" in html
    forget_batch(batch.id)
    html = panel(client.get(f"/t/{codes[0]}?lang=en").get_data(as_text=True))
    assert "Registration certificate ✕ Expired on Oct 1, 2026" in text(html)


def test_the_additives_are_listed(client, db, wine):
    batch, codes = wine
    page = client.get(f"/t/{codes[0]}").get_data(as_text=True)
    assert "未登记使用食品添加剂。" in page
    db.session.add(
        AdditiveUse(
            batch_id=batch.id, additive_name="山梨酸钾", purpose="防腐剂",
            amount=Decimal("25"), unit="g",
        )
    )  # fmt: skip
    db.session.flush()
    forget_batch(batch.id)
    page = client.get(f"/t/{codes[1]}").get_data(as_text=True)
    additives = re.search(r'<ul class="additives">(.*?)</ul>', page, re.S).group(1)
    assert text(additives) == "山梨酸钾 · 防腐剂 · 25 g"
