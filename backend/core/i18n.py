"""A fast gettext for hot paths (the scan): translations cached per locale, per process.

Flask-Babel looks up its context and formats the locale on every call, which costs more
than the rest of a cached scan. Templates keep using Flask-Babel's own `_()`.
"""

from __future__ import annotations

from functools import lru_cache

from babel.support import NullTranslations
from flask import current_app, g, has_request_context, request
from flask_babel import get_domain
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

_translations: dict[str, NullTranslations] = {}


def N_(message: str) -> str:  # noqa: N802 - the conventional name of a gettext marker
    """Mark *message* for the message catalogue where it is defined; it is translated where
    it is shown (``make translations`` extracts the texts marked with ``N_``)."""
    return message


@lru_cache(maxsize=512)
def _best_language(header: str, languages: tuple[str, ...]) -> str:
    """The best of *languages* for an Accept-Language header (parsed once per distinct header)."""
    return parse_accept_header(header, LanguageAccept).best_match(languages) or languages[0]


def choose_locale_id() -> str:
    """Chinese first: ?lang=, then the lang cookie, then Accept-Language, else zh_CN.

    Outside a request (command line, background jobs) it is zh_CN. Chosen once per request
    (Flask-Babel's selector and the fast gettext below both ask here).
    """
    if not has_request_context():  # the command line and background jobs speak Chinese
        return current_app.config["LANGUAGES"][0]
    identifier = g.get("locale_id")
    if identifier is None:
        languages = current_app.config["LANGUAGES"]
        identifier = next(
            (w for w in (request.args.get("lang"), request.cookies.get("lang")) if w in languages),
            None,
        )
        if identifier is None:
            header = request.headers.get("Accept-Language", "")
            identifier = _best_language(header, tuple(languages))
        g.locale_id = identifier
    return identifier


def current_locale_id() -> str:
    """The request's locale identifier (zh_CN or en)."""
    return choose_locale_id()


def gettext(message: str, **variables) -> str:
    """Translate *message* into the request's language and fill in *variables*."""
    identifier = current_locale_id()
    translations = _translations.get(identifier)
    if translations is None:
        translations = _translations[identifier] = get_domain().get_translations()
    text = translations.ugettext(message)
    return text % variables if variables else text
