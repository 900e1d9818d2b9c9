"""Domain errors raised by services; the edge turns each into the one error format."""

from __future__ import annotations


class DomainError(Exception):
    """A rule said no. `slug` is stable for clients; `message` is for people."""

    status_code = 400
    slug = "bad_request"

    def __init__(self, message: str, *, slug: str | None = None, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        if slug:
            self.slug = slug
        self.errors = errors or {}


class Errors(dict):
    """Field → messages, filled as a service checks its rules (then raised at once)."""

    def add(self, name: str, message: str) -> None:
        """Note that *name* breaks a rule."""
        self.setdefault(name, []).append(message)


class ValidationError(DomainError):
    """Input that is well-formed but breaks a rule."""

    status_code = 422
    slug = "validation_failed"


class NotFound(DomainError):
    """The thing asked for does not exist (or the caller may not know it exists)."""

    status_code = 404
    slug = "not_found"


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    status_code = 403
    slug = "forbidden"


class Unauthorized(DomainError):
    """The caller is not logged in, or the token is no good."""

    status_code = 401
    slug = "unauthorized"


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, a wrong state)."""

    status_code = 409
    slug = "conflict"


class ServiceUnavailable(DomainError):
    """An outside system (WeChat, storage) is not configured or not answering."""

    status_code = 503
    slug = "service_unavailable"


def refuse(errors: dict, slug: str) -> None:
    """Raise one ValidationError (*slug*) for every rule *errors* notes, if it notes any:
    nothing of the request is kept, and each field's messages go back with it."""
    if errors:
        from backend.core.i18n import gettext as _

        raise ValidationError(
            _("提交的信息有误，请按提示修改，未保存任何内容。"), slug=slug, errors=dict(errors)
        )
