"""The public site's pages: home, brands, the workshop directory, a workshop's profile,
products, the published sampling results and the complaint form.

Nobody logs in. Pages are server-rendered and work without JavaScript (except video); they
load nothing from other hosts (the Content-Security-Policy of the live pages applies). The
complaint form carries the session's CSRF token, is limited per client and, when WeChat is
configured, its text goes through WeChat's content check (in the complaints service).
The language switch (/language/<code>) keeps the choice in a cookie.
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import format_date, format_decimal
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from backend.cameras.services import AREA_LABELS
from backend.complaints import services as complaints
from backend.complaints.models import ComplaintChannel
from backend.core import ratelimit
from backend.core.errors import ValidationError
from backend.core.i18n import gettext as _
from backend.core.pages import Page, clamp_page
from backend.extensions import csrf, db
from backend.integrations.wechat import WeChatError
from backend.registry import public as showcase
from backend.registry import services
from backend.registry.filing import STATUS_LABELS
from backend.registry.standing import registration_standing
from backend.samples import announcements as sampling
from portal.cameras import media_policy
from portal.console.common import apply_errors

blueprint = Blueprint("public", __name__, template_folder="templates")
blueprint.after_request(media_policy)

COMPLAINT_LIMIT = "5/hour;20/day"  # complaints per client; COMPLAINT_RATE_LIMIT overrides
LANG_COOKIE_AGE = 365 * 86400
RESULTS_PER_PAGE = 30


# --- on every page ----------------------------------------------------------------------


@blueprint.app_context_processor
def site_context() -> dict:
    """What every page of the site may use: language links, number format, share data."""
    return {"lang_url": lang_url, "number": format_decimal, "share_image": share_image}


@blueprint.app_template_filter("localdate")
def local_date(value) -> str:
    """An ISO date (or the date part of an ISO time), written for the page's language."""
    if not value:
        return ""
    try:
        day = date.fromisoformat(str(value)[:10])
    except ValueError:
        return str(value)
    return format_date(day, "medium")


def lang_url(code: str) -> str:
    """A link that switches this page to language *code* and remembers the choice.

    The scan page is cached for every code of a batch, so it gets a relative ``?lang=``
    that names no code (the language then holds for that page only).
    """
    if request.blueprint == "scan_page" or request.method != "GET":
        return f"?lang={code}"
    args = request.args.to_dict(flat=False)
    args.pop("lang", None)
    query = urlencode(args, doseq=True)
    here = request.path + (f"?{query}" if query else "")
    return url_for("public.language", code=code, next=here)


def share_image() -> str:
    """The absolute address of the picture shown with a shared link (Open Graph)."""
    config = current_app.config
    path = url_for("static", filename="img/share-card.png")
    return f"{config['PUBLIC_SCHEME']}://{config['PUBLIC_HOST']}{path}"


@blueprint.get("/language/<code>")
def language(code: str):
    """Switch the site's language, remember it in a cookie and go back to the page."""
    if code not in current_app.config["LANGUAGES"]:
        return redirect(url_for("public.home"))
    target = request.args.get("next", "")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = url_for("public.home")
    response = redirect(target)
    response.set_cookie("lang", code, max_age=LANG_COOKIE_AGE, samesite="Lax", httponly=True)
    return response


@blueprint.get("/favicon.ico")
def favicon():
    """The site's icon where a browser asks for it by its old name (console pages too)."""
    return send_from_directory(
        current_app.static_folder, "img/favicon.ico", mimetype="image/x-icon", max_age=86400
    )


# --- pages ------------------------------------------------------------------------------


@blueprint.get("/")
def home():
    """Home page: the zone's story, "six unified", its brands and live numbers."""
    return render_template(
        "public/home.html", zones=services.list_zones(), figures=showcase.figures()
    )


@blueprint.get("/brands/<code>")
def brand(code: str):
    """A zone brand: its story, products and workshops."""
    return render_template("public/brand.html", page=showcase.brand_page(code))


@blueprint.get("/workshops/")
def workshops():
    """The workshop directory, filtered by township, product type, zone and upgrade."""
    filters = showcase.DirectoryFilter(
        township=request.args.get("township", "").strip(),
        category=request.args.get("category", "").strip(),
        zone=request.args.get("zone", "").strip(),
        upgraded=request.args.get("upgraded", "").strip(),
    )
    context = {
        "filters": filters,
        "townships": showcase.townships(),
        "categories": showcase.categories(),
        "status_labels": STATUS_LABELS,
        "standing_of": registration_standing,  # expired or suspended ones are flagged
    }
    try:
        found = showcase.directory(filters)
    except ValidationError as exc:
        return render_template("public/workshops.html", found=[], errors=exc.errors, **context), 422
    return render_template("public/workshops.html", found=found, errors={}, **context)


@blueprint.get("/workshops/<int:workshop_id>")
def workshop(workshop_id: int):
    """A workshop's profile: certificate, products, inspection, results, cameras."""
    return render_template(
        "public/workshop.html",
        page=showcase.workshop_profile(workshop_id),
        status_labels=STATUS_LABELS,
        area_labels=AREA_LABELS,
    )


@blueprint.get("/products/<int:product_id>")
def product(product_id: int):
    """A product: what it is, who makes it and its published results."""
    return render_template("public/product.html", page=showcase.product_page(product_id))


@blueprint.get("/results/")
def results():
    """The published sampling results (抽检信息公示), with their disclaimer."""
    raw = request.args.get("year", "").strip()
    year = None
    if raw:
        if not raw.isdigit() or len(raw) != 4:
            return render_template(
                "public/results.html",
                announcement=None,
                year=raw,
                error=_("年份无效。"),
            ), 422
        year = int(raw)
    try:
        announcement = sampling.announcements(year)
    except ValidationError as exc:
        return render_template(
            "public/results.html", announcement=None, year=raw, error=exc.message
        ), 422
    rows = announcement["rows"]
    requested = request.args.get("page", "1")
    number = int(requested) if requested.isdigit() and len(requested) < 7 else 1
    number = clamp_page(number, len(rows), RESULTS_PER_PAGE)
    shown = Page(
        rows[(number - 1) * RESULTS_PER_PAGE : number * RESULTS_PER_PAGE],
        len(rows),
        number,
        RESULTS_PER_PAGE,
    )
    return render_template(
        "public/results.html", announcement=announcement, shown=shown, year=raw, error=""
    )


# --- complaints -------------------------------------------------------------------------


class ComplaintForm(FlaskForm):
    """The public complaint form (its CSRF token is checked by Flask-WTF)."""

    content = TextAreaField(_l("投诉内容"), validators=[Length(max=complaints.MAX_CONTENT)])
    code = StringField(_l("产品上的追溯码"), validators=[Optional(), Length(max=60)])
    contact_name = StringField(_l("您的称呼"), validators=[Optional(), Length(max=50)])
    contact_phone = StringField(_l("联系电话"), validators=[Optional(), Length(max=30)])
    batch_no = HiddenField()
    workshop_id = HiddenField()
    source = HiddenField()


def _int_or_none(value: str | None) -> int | None:
    """*value* as a positive int, or None when empty or not a number."""
    value = (value or "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def _complaint_form_page(form, status: int = 200, notice: str = ""):
    """Render the complaint form, naming the workshop it is about when there is one."""
    about = showcase.complaint_subject(
        workshop_id=_int_or_none(form.workshop_id.data), batch_no=form.batch_no.data or ""
    )
    return render_template("public/complaint.html", form=form, about=about, notice=notice), status


@blueprint.route("/complaints/new", methods=["GET", "POST"])
def complaint():
    """File a complaint about a product code, a batch or a workshop."""
    form = ComplaintForm()
    if request.method == "GET":
        form.code.data = request.args.get("code", "")[:60]
        form.batch_no.data = request.args.get("batch", "")[:40]
        form.workshop_id.data = request.args.get("workshop", "")[:10]
        form.source.data = "scan" if request.args.get("via") == "scan" else ""
        return _complaint_form_page(form)
    csrf.protect()  # a 400 page without the session's token
    ratelimit.hit(
        "complaints",
        request.remote_addr or "-",
        current_app.config.get("COMPLAINT_RATE_LIMIT", COMPLAINT_LIMIT),
        _("提交过于频繁，请稍后再试。"),
    )
    if not form.validate():
        return _complaint_form_page(form, 422, _("提交的信息有误，请按提示修改，未保存任何内容。"))
    channel = ComplaintChannel.SCAN_PAGE if form.source.data == "scan" else ComplaintChannel.PORTAL
    data = complaints.ComplaintInput(
        content=form.content.data or "",
        code=form.code.data or "",
        workshop_id=_int_or_none(form.workshop_id.data),
        contact_name=form.contact_name.data or "",
        contact_phone=form.contact_phone.data or "",
    )
    try:
        data.batch_id = showcase.batch_id_of(form.batch_no.data or "")
        filed = complaints.file_complaint(
            data, channel=channel, client_hash=showcase.client_hash(request.remote_addr)
        )
    except ValidationError as exc:
        db.session.rollback()
        apply_errors(form, exc.errors, {"batch_id": "code", "workshop_id": "code"})
        return _complaint_form_page(form, 422, exc.message)
    except WeChatError as exc:
        db.session.rollback()
        return _complaint_form_page(form, exc.status_code, exc.message)
    session["complaint_reference"] = filed.reference
    return redirect(url_for("public.complaint_filed"), 303)


@blueprint.get("/complaints/filed")
def complaint_filed():
    """The reference of the complaint just filed from this browser."""
    reference = session.get("complaint_reference")
    if not reference:
        return redirect(url_for("public.complaint"))
    return render_template("public/complaint_filed.html", reference=reference)
