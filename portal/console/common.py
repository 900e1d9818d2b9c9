"""Helpers shared by the console's pages: the navigation, the acting user, form errors."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import Response, flash, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import DateField

from backend.accounts.models import Role, User
from backend.core.spreadsheets import MIMETYPES
from backend.extensions import db


@dataclass(frozen=True)
class NavItem:
    """A link in the console's navigation, shown to the roles named."""

    endpoint: str
    label: object
    roles: tuple[Role, ...] = (Role.REGULATOR, Role.INSPECTOR)
    order: int = 100  # place in the navigation, lowest first

    def visible_to(self, user) -> bool:
        """Whether *user* sees this link."""
        return bool(getattr(user, "is_authenticated", False)) and user.role in self.roles


def acting_user() -> User:
    """The logged-in console user (the real object, for services)."""
    return current_user._get_current_object()


def apply_errors(form, errors: dict, aliases: dict | None = None) -> None:
    """Show a service's field errors next to the form's fields (others above the form).

    A field that already shows an error (a date that could not be read) keeps only that.
    """
    aliases = aliases or {}
    for name, messages in errors.items():
        field = getattr(form, aliases.get(name, name), None)
        if field is None or not hasattr(field, "errors"):
            form.form_errors.extend(messages)
            continue
        if isinstance(field.errors, tuple):
            field.errors = list(field.errors)
        if not field.errors:
            field.errors.extend(messages)


def refused(template: str, form, errors: dict, aliases: dict | None = None, **context):
    """Roll back, show *errors* on *form* and render *template* with status 422."""
    db.session.rollback()
    apply_errors(form, errors, aliases)
    flash(_l("提交的信息有误，请按提示修改，未保存任何内容。"), "error")
    return render_template(template, form=form, **context), 422


def safe_next(target: str | None, default: str) -> str:
    """The path of *target* when it is a console page, else *default* (no open redirects)."""
    parts = urlsplit(target or "")
    if not parts.path.startswith("/console") or "\\" in (target or ""):
        return default
    return parts.path + (f"?{parts.query}" if parts.query else "")


class LocalDateField(DateField):
    """A date typed as 2024-01-31 (the HTML date input's format), with a Chinese message."""

    def process_formdata(self, valuelist):
        """Read the date (nothing typed: None); a clear message when it is not one."""
        if not valuelist or not any(v.strip() for v in valuelist):
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(str(_l("不是有效的日期，请写成 2024-01-31。"))) from None


def download(data: bytes, filename: str, fmt: str) -> Response:
    """*data* as a file download of format *fmt* (csv, xlsx, pdf…) with a Chinese-safe name."""
    mimetype = MIMETYPES.get(fmt, "application/octet-stream")
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition(filename, fmt)
    return response


def content_disposition(filename: str, fmt: str) -> str:
    """A header value any server accepts: an ASCII ``filename`` fallback (non-ASCII dropped)
    and the real name as RFC 5987 ``filename*`` (gunicorn refuses raw non-ASCII headers)."""
    stem = filename.rsplit(".", 1)[0] if "." in filename else filename
    safe = "".join(c for c in stem if c.isascii() and c.isprintable() and c not in '"\\;')
    fallback = f"{safe.strip(' -_.') or 'download'}.{fmt}"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
