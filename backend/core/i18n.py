"""A fast gettext for hot paths (the scan): translations cached per locale, per process.

Flask-Babel looks up its context and formats the locale on every call, which costs more
than the rest of a cached scan. Templates keep using Flask-Babel's own `_()`.
"""

from __future__ import annotations

from babel.support import NullTranslations
from flask import g
from flask_babel import get_domain, get_locale

_translations: dict[str, NullTranslations] = {}


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a gettext marker
    """Mark *message* for the message catalogue where it is defined; it is translated where
    it is shown (``make translations`` extracts the texts marked with ``N_``)."""
    return message


def current_locale_id() -> str:
    """The request's locale identifier (zh_CN or en), chosen once per request."""
    identifier = g.get("locale_id")
    if identifier is None:
        get_locale()  # runs the selector, which records locale_id on g
        identifier = g.get("locale_id", "zh_CN")
    return identifier


def gettext(message: str, **variables) -> str:
    """Translate *message* into the request's language and fill in *variables*."""
    identifier = current_locale_id()
    translations = _translations.get(identifier)
    if translations is None:
        translations = _translations[identifier] = get_domain().get_translations()
    text = translations.ugettext(message)
    return text % variables if variables else text
