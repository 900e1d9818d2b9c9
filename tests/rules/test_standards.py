from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backend.core.errors import ValidationError
from backend.rules import standards
from backend.rules.models import Comparison, StandardLimit
from backend.samples.models import Qualitative, TestKind, Verdict


@pytest.fixture()
def table(db):
    standards.load_categories()
    standards.load_standards()
    return db


def count(db):
    return db.session.scalar(select(func.count(StandardLimit.id)))


def test_loading_twice_keeps_one_row_per_item(table):
    first = count(table)
    assert first == len(standards._rows(standards.DATA)) > 20
    standards.load_standards()
    assert count(table) == first


def test_unverified_numbers_ship_as_unverified(table):
    lead = standards.limit_for("huangjiu", "lead")
    assert lead.limit_value == Decimal("0.5") and lead.unit == "mg/kg"
    assert lead.verified is False
    assert standards.limit_for("bean_products", "benzoic_acid").verified is True
    assert standards.limit_for("red_yeast_rice", "citrinin").standard == "GB 1886.19-2015"


def test_a_subcategory_inherits_its_parents_limits(table):
    assert standards.category_chain("dried_tofu") == ["dried_tofu", "bean_products"]
    assert standards.limit_for("dried_tofu", "benzoic_acid").category_code == "bean_products"
    assert standards.limit_for("dried_tofu", "acesulfame").category_code == "dried_tofu"
    with pytest.raises(ValidationError) as error:
        standards.limit_for("bean_products", "acesulfame")  # only dried tofu has a limit
    assert error.value.slug == "no_standard_for_item"


def test_maximum_limits(table):
    lead = standards.limit_for("huangjiu", "lead")
    assert lead.comparison is Comparison.MAX
    assert standards.judge(lead, kind=TestKind.LAB, value="0.5") is Verdict.PASS
    assert standards.judge(lead, kind=TestKind.LAB, value="0.51") is Verdict.FAIL
    assert standards.judge(lead, kind=TestKind.RAPID, value="0.51") is Verdict.POSITIVE_SCREEN


def test_not_permitted_and_non_food_substances(table):
    benzoic = standards.limit_for("bean_products", "benzoic_acid")
    assert standards.judge(benzoic, kind=TestKind.LAB, value="0") is Verdict.PASS
    assert standards.judge(benzoic, kind=TestKind.LAB, value="0.12") is Verdict.FAIL
    borax = standards.limit_for("meat_products", "borax")
    assert borax.comparison is Comparison.ABSENT
    negative, positive = Qualitative.NEGATIVE, Qualitative.POSITIVE
    assert standards.judge(borax, kind=TestKind.RAPID, qualitative=negative) is Verdict.PASS
    # A rapid test only screens: positive holds, never fails for good.
    assert (
        standards.judge(borax, kind=TestKind.RAPID, qualitative=positive) is Verdict.POSITIVE_SCREEN
    )
    assert standards.judge(borax, kind=TestKind.LAB, qualitative=positive) is Verdict.FAIL


def test_alcohol_is_judged_against_the_label(table):
    alcohol = standards.limit_for("huangjiu", "alcohol")
    assert standards.judge(alcohol, kind=TestKind.LAB, value="14.0", labelled=15) is Verdict.PASS
    assert standards.judge(alcohol, kind=TestKind.LAB, value="13.9", labelled=15) is Verdict.FAIL
    with pytest.raises(ValidationError):
        standards.judge(alcohol, kind=TestKind.LAB, value="14.0")


def test_a_reading_is_required_and_must_be_a_number(table):
    lead = standards.limit_for("huangjiu", "lead")
    with pytest.raises(ValidationError) as missing:
        standards.judge(lead, kind=TestKind.LAB)
    assert missing.value.slug == "reading_missing"
    with pytest.raises(ValidationError) as bad:
        standards.judge(lead, kind=TestKind.LAB, value="abc")
    assert bad.value.slug == "bad_number"
