"""Trace and recall: backward and forward traces from a batch, a code, a raw lot, a supplier
or a production date range; the recall report (CSV/XLSX, FSMA-204 style); recalling every
affected batch in one step.

Regulators and inspectors trace and download the report; only regulators recall
(:mod:`backend.trace.recalls`, through the sampling service's recall rules).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, StringField, TextAreaField

from backend.accounts.models import Role
from backend.accounts.permissions import require_role
from backend.audit.log import record
from backend.batches.states import STATE_NAMES_ZH
from backend.core.errors import DomainError, Forbidden
from backend.core.i18n import gettext as _
from backend.core.spreadsheets import FORMATS
from backend.extensions import db
from backend.samples.holds import REGULATORS_ONLY
from backend.trace import graph, recall_report, recalls
from portal.console.common import (
    LocalDateField,
    NavItem,
    acting_user,
    apply_errors,
    download,
    refused,
)

blueprint = Blueprint("trace", __name__, url_prefix="/recalls")
navigation = [NavItem("console.trace.index", _l("追溯与召回"), order=35)]

START_FIELDS = ("batch", "code", "lot", "supplier", "start", "end")


class TraceForm(Form):
    """Where a trace starts (a GET form: one of batch, code, raw lot, supplier, date range)."""

    batch = StringField(_l("批次号"))
    code = StringField(_l("追溯码"))
    lot = StringField(_l("原料批次编号"))
    supplier = StringField(_l("供应商编号"))
    start = LocalDateField(_l("生产日期自"))
    end = LocalDateField(_l("至"))

    def given(self) -> list[str]:
        """The start fields that were filled in."""
        return [name for name in START_FIELDS if (self[name].raw_data or [""])[0].strip()]


class RecallForm(FlaskForm):
    """The reason for recalling every affected batch."""

    reason = TextAreaField(_l("召回原因"))


def _trace(form: TraceForm) -> graph.Trace:
    """The trace the form asks for (raises DomainError with field errors)."""
    data = {name: (form[name].data or "").strip() for name in ("batch", "code", "lot", "supplier")}
    if data["code"]:
        if len(form.given()) != 1:
            raise _one_start()
        batch = graph.batch_by_code(data["code"])
        return graph.affected([batch], str(_l("追溯码 %(code)s", code=data["code"])))
    if form.start.errors or form.end.errors:
        raise DomainError("", errors={})
    return recall_report.trace_for(
        batch=data["batch"] or None,
        lot=data["lot"] or None,
        supplier=data["supplier"] or None,
        start=form.start.data,
        end=form.end.data,
    )


def _one_start():
    """The error for more than one start."""
    from backend.core.errors import ValidationError

    message = str(_l("请只选择一种追溯起点：批次、追溯码、原料批次、供应商或日期范围。"))
    return ValidationError(message, slug="one_start", errors={"batch": [message]})


def _read_form() -> TraceForm:
    """The trace form from the query string (dates checked by the fields)."""
    form = TraceForm(request.args)
    form.start.validate(form)
    form.end.validate(form)
    return form


def _query(form: TraceForm) -> dict:
    """The filled start fields, for links that repeat the trace."""
    return {name: request.args[name] for name in form.given() if name in request.args}


@blueprint.get("/")
def index():
    """Trace from a batch, code, raw lot, supplier or date range; the affected batches, codes
    and buyers, the recall report and the one-step recall."""
    user = acting_user()
    graph.require_tracer(user)
    form = _read_form()
    context = {"form": form, "trace": None, "state_names": STATE_NAMES_ZH, "query": {}}
    if not form.given():
        return render_template("console/trace/index.html", **context)
    try:
        trace = _trace(form)
    except Forbidden:
        raise
    except DomainError as exc:
        db.session.rollback()
        apply_errors(form, exc.errors, {"fmt": "batch", "range": "start"})
        if exc.message and not exc.errors:
            form.form_errors.append(exc.message)
        return render_template("console/trace/index.html", **context), 422
    context.update(
        trace=trace,
        plan=recalls.plan(trace),
        query=_query(form),
        may_recall=user.role.value == "regulator",
        items=graph.shipment_items(trace),
    )
    return render_template("console/trace/index.html", **context)


@blueprint.get("/report.<fmt>")
def report(fmt: str):
    """The recall report of the trace as CSV or XLSX."""
    user = acting_user()
    graph.require_tracer(user)
    if fmt not in FORMATS:
        return redirect(url_for(".index", **request.args))
    form = _read_form()
    if not form.given():
        return redirect(url_for(".index"))
    try:
        trace = _trace(form)
    except Forbidden:
        raise
    except DomainError as exc:
        db.session.rollback()
        apply_errors(form, exc.errors, {"fmt": "batch", "range": "start"})
        if exc.message and not exc.errors:
            form.form_errors.append(exc.message)
        context = {"form": form, "trace": None, "state_names": STATE_NAMES_ZH, "query": {}}
        return render_template("console/trace/index.html", **context), 422
    data = recall_report.export(trace, fmt)
    record("trace.report", "trace", trace.origin[:40], user, fmt=fmt, rows=data.count(b"\n"))
    return download(data, recall_report.filename(fmt), fmt)


@blueprint.route("/recall", methods=["GET", "POST"])
def recall():
    """Recall every affected batch of the trace in one step, with a reason (regulators)."""
    user = acting_user()
    require_role(user, Role.REGULATOR, message=_(REGULATORS_ONLY), slug="regulators_only")
    form = _read_form()
    if not form.given():
        return redirect(url_for(".index"))
    try:
        trace = _trace(form)
    except Forbidden:
        raise
    except DomainError:
        db.session.rollback()
        return redirect(url_for(".index", **request.args))
    recall_form = RecallForm()
    template = "console/trace/recall.html"
    context = {
        "trace": trace,
        "plan": recalls.plan(trace),
        "query": _query(form),
        "state_names": STATE_NAMES_ZH,
    }
    if not recall_form.is_submitted():
        return render_template(template, form=recall_form, **context)
    if not recall_form.validate():
        return refused(template, recall_form, {}, **context)
    try:
        done = recalls.recall_all(trace, recall_form.reason.data or "", user)
    except Forbidden:
        raise
    except DomainError as exc:
        errors = exc.errors or {"reason": [exc.message]}
        if exc.status_code == 409:
            errors = {"reason": [exc.message]}
        return refused(template, recall_form, errors, **context)
    flash(_l("已召回 %(n)s 个批次。", n=len(done)), "success")
    return redirect(url_for(".index", **_query(form)))
