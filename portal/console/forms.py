"""The console's forms (Flask-WTF: every form carries the session's CSRF token).

Forms only read what was typed into Python values (dates, numbers, choices); the rules
(required fields, lengths, duplicates, ranges) are the services' and their messages are
put next to the fields by the views.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired

from backend.registry.filing import WorkshopInput
from backend.registry.models import StaffRole
from backend.registry.staff import HealthCertificateInput, StaffInput
from portal.console.common import LocalDateField

DEFAULT_AUTHORITY = "漳州市长泰区市场监督管理局"


def optional_id(value) -> int | None:
    """A select's id: None when empty, -1 (matches nothing) when not a number."""
    value = (value or "").strip() if isinstance(value, str) else value
    if value in (None, ""):
        return None
    return int(value) if str(value).isdigit() else -1


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(
        _l("用户名"),
        validators=[InputRequired(message=_l("请输入用户名。"))],
        render_kw={"autocomplete": "username", "autocapitalize": "none"},
    )
    password = PasswordField(
        _l("密码"),
        validators=[InputRequired(message=_l("请输入密码。"))],
        render_kw={"autocomplete": "current-password"},
    )


class LogoutForm(FlaskForm):
    """Logging out is a POST with the CSRF token (a link could be forged)."""


class WorkshopForm(FlaskForm):
    """A workshop's registration certificate, zone membership and brand."""

    registration_no = StringField(_l("登记证编号"))
    name = StringField(_l("作坊名称"))
    operator_name = StringField(_l("经营者"))
    contact_phone = StringField(_l("联系电话"))
    address = StringField(_l("生产地址"))
    township = SelectField(_l("所在乡镇"), validate_choice=False)
    product_types = SelectMultipleField(_l("准许生产的食品类别"), validate_choice=False)
    issuing_authority = StringField(_l("发证机关"), default=DEFAULT_AUTHORITY)
    cert_issued_on = LocalDateField(_l("发证日期"))
    cert_valid_until = LocalDateField(_l("有效期至"))
    cert_long_term = BooleanField(_l("长期有效"))
    zone_id = SelectField(_l("所属加工区"), validate_choice=False)
    brand_id = SelectField(_l("使用品牌"), validate_choice=False)
    description = TextAreaField(_l("备注"))

    def set_choices(self, choices) -> None:
        """Offer the district's townships, zones, brands and product categories."""
        self.township.choices = [SelectChoice("", _l("— 请选择 —"))] + [
            SelectChoice(t) for t in choices.townships
        ]
        self.zone_id.choices = [SelectChoice("", _l("不在加工区"))] + [
            SelectChoice(str(z.id), z.name_zh) for z in choices.zones
        ]
        self.brand_id.choices = [SelectChoice("", _l("不使用区域品牌"))] + [
            SelectChoice(str(b.id), b.name_zh) for b in choices.brands
        ]
        self.product_types.choices = [SelectChoice(c.code, c.name_zh) for c in choices.categories]

    def fill_from(self, workshop) -> None:
        """Put a filed workshop's values into the form (for editing)."""
        for name in (
            "registration_no",
            "name",
            "operator_name",
            "contact_phone",
            "address",
            "township",
            "issuing_authority",
            "cert_issued_on",
            "cert_valid_until",
            "cert_long_term",
            "description",
        ):
            getattr(self, name).data = getattr(workshop, name)
        self.zone_id.data = str(workshop.zone_id or "")
        self.brand_id.data = str(workshop.brand_id or "")
        self.product_types.data = [c.code for c in workshop.product_types]

    def to_input(self) -> WorkshopInput:
        """What was typed, for the filing service."""
        return WorkshopInput(
            registration_no=self.registration_no.data or "",
            name=self.name.data or "",
            operator_name=self.operator_name.data or "",
            contact_phone=self.contact_phone.data or "",
            address=self.address.data or "",
            township=self.township.data or "",
            product_types=list(self.product_types.data or []),
            issuing_authority=self.issuing_authority.data or "",
            cert_issued_on=self.cert_issued_on.data,
            cert_valid_until=self.cert_valid_until.data,
            cert_long_term=bool(self.cert_long_term.data),
            zone_id=optional_id(self.zone_id.data),
            brand_id=optional_id(self.brand_id.data),
            description=self.description.data or "",
        )


class StatusForm(FlaskForm):
    """A status change: which, why, and for an upgrade the licence and trademark."""

    action = RadioField(_l("变更"), validate_choice=False)
    reason = TextAreaField(_l("原因"))
    licence_no = StringField(_l("食品生产许可证编号"))
    trademark = StringField(_l("商标"))


class StaffForm(FlaskForm):
    """A person of the workshop."""

    name = StringField(_l("姓名"))
    role = SelectField(
        _l("岗位"),
        choices=[
            SelectChoice(StaffRole.OWNER.value, _l("负责人")),
            SelectChoice(StaffRole.WORKER.value, _l("从业人员")),
        ],
        default=StaffRole.WORKER.value,
        validate_choice=False,
    )
    phone = StringField(_l("电话"))
    handles_ready_to_eat = BooleanField(_l("接触直接入口食品"), default=True)
    active = BooleanField(_l("在岗"), default=True)

    def to_input(self) -> StaffInput:
        """What was typed, for the filing service."""
        return StaffInput(
            name=self.name.data or "",
            role=self.role.data or "",
            phone=self.phone.data or "",
            handles_ready_to_eat=bool(self.handles_ready_to_eat.data),
            active=bool(self.active.data),
        )


class HealthCertificateForm(FlaskForm):
    """A health certificate (健康证)."""

    cert_no = StringField(_l("健康证编号"))
    issued_by = StringField(_l("发证机构"))
    issued_on = LocalDateField(_l("发证日期"))
    expires_on = LocalDateField(_l("有效期至"))

    def to_input(self) -> HealthCertificateInput:
        """What was typed, for the filing service."""
        return HealthCertificateInput(
            cert_no=self.cert_no.data or "",
            issued_by=self.issued_by.data or "",
            issued_on=self.issued_on.data,
            expires_on=self.expires_on.data,
        )


class ImportForm(FlaskForm):
    """A directory file to import."""

    file = FileField(_l("名录文件（CSV 或 XLSX）"))


class ImportConfirmForm(FlaskForm):
    """Import the rows of a report that passed."""

    token = HiddenField()
