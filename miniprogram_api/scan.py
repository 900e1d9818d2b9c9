"""The consumer scan, for the mini-program: no login, rate limited, fast."""

from __future__ import annotations

import hashlib
from functools import wraps

from flask import Response, current_app, g, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.codes.models import ScanChannel
from backend.core import ratelimit
from backend.core.errors import DomainError
from backend.core.i18n import N_
from backend.scan.links import parse_link
from backend.scan.path import ScanRequest, ScanResult, scan_path
from backend.scan.schemas import ScanArgsSchema, ScanLinkArgsSchema, ScanViewSchema
from backend.scan.visitors import is_link_preview

blp = Blueprint("scan", __name__, url_prefix="/scan", description="Consumer scans")


def rate_limited(view, *, deferred: bool = False):
    """Limit scans per client, and failed look-ups (bad or unknown codes) far harder.

    A client past the failure limit is refused before anything is looked up, so codes
    cannot be guessed by brute force. Only the counters are written for a bad request.
    With *deferred* the limits are left to the scan (:func:`scan_limits`), which counts them
    in its one Redis round trip, or before its first look-up.
    """

    @wraps(view)
    def guarded(*args, **kwargs):
        config = current_app.config
        limits = g.scan_limits = ratelimit.Deferred(
            client=request.remote_addr or "-",
            limits=config["SCAN_RATE_LIMIT"],
            failure_scope="scan-failures",
            failure_limits=config["SCAN_FAILURE_LIMIT"],
            scope="scan",
            message=N_("请求过于频繁，请稍后再试。"),
        )
        if not deferred:
            limits.apply()
        try:
            response = view(*args, **kwargs)
        except DomainError as exc:
            if exc.status_code in (404, 422):
                failed(limits)
            raise
        if isinstance(response, tuple) and response[1] == 404:
            failed(limits)
        limits.apply()  # (counted already on every path that answered)
        return response

    return guarded


def scan_limited(view):
    """:func:`rate_limited`, the limits counted by the scan itself."""
    return rate_limited(view, deferred=True)


def failed(limits: ratelimit.Deferred) -> None:
    """Count a failed look-up (a client already past the failure limit gets the 429)."""
    limits.apply()
    ratelimit.count(limits.failure_scope, limits.client, limits.failure_limits)


def scan_limits() -> ratelimit.Deferred | None:
    """This request's limits, when a scan view defers them to the scan."""
    return g.get("scan_limits")


def client_identity() -> str:
    """Who is scanning, as far as we can tell without a look-up (hashed before storing):
    a mini-program user's login token (it stands for their openid), else the client address
    and user agent. It only ever decides whether a scan is this visitor's own repeat, so a
    client that sends something else fools no one but itself."""
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer ") and len(header) > 7:
        return "token|" + hashlib.sha256(header[7:].strip().encode()).hexdigest()
    return f"{request.remote_addr}|{request.user_agent.string[:200]}"


def not_a_scan() -> bool:
    """Whether this request is answered without being recorded as a scan: a HEAD request,
    or a link-preview fetcher or search crawler (backend/scan/data/link_preview_agents.txt)
    — nobody held the product."""
    return request.method == "HEAD" or is_link_preview(request.user_agent.string)


def channel_request(
    code: str, channel: ScanChannel, link: tuple[str, str] | None = None
) -> ScanRequest:
    """The scan path's request for *code* from this mini-program request."""
    return ScanRequest(
        code,
        channel,
        visitor=client_identity(),
        address=request.remote_addr,
        link=link,
        limits=scan_limits(),
        record=not not_a_scan(),
    )


def query_parameters(schema: type) -> list[dict]:
    """OpenAPI query parameters of *schema*.

    The scan path reads its few query arguments itself (they are checked in the service:
    a bad link is a 422; ``region`` is accepted and ignored, the region being read on the
    server from the client's address); running a schema per scan costs more than the rest
    of a cached scan. The schema still documents them.
    """
    parameters = []
    for name, field in schema().fields.items():
        kind = "integer" if field.__class__.__name__ == "Integer" else "string"
        parameters.append(
            {
                "in": "query",
                "name": name,
                "required": field.required,
                "schema": {"type": kind},
                "description": field.metadata.get("description", ""),
            }
        )
    return parameters


def scan_response(result: ScanResult) -> Response:
    """The answer as JSON, built by ScanViewSchema (the batch's part dumped once per cached
    view, backend/scan/schemas.py)."""
    return Response(result.to_json(), mimetype="application/json")


@blp.route("")
class ScanByLink(MethodView):
    """Scan by the printed link (what WeChat passes to the mini-program as `q`)."""

    decorators = [scan_limited]

    @blp.doc(parameters=query_parameters(ScanLinkArgsSchema))
    @blp.response(200, ScanViewSchema)
    @blp.alt_response(404, description="Not a code of this platform")
    @blp.alt_response(422, description="Malformed code or link of another host")
    def get(self):
        """Show the consumer view for the code in a printed link."""
        code, channel, link = parse_link(request.args.get("q", ""))
        return scan_response(scan_path().scan(channel_request(code, channel, link)))


@blp.route("/<code>")
class ScanByCode(MethodView):
    """Scan by the code itself."""

    decorators = [scan_limited]

    @blp.doc(parameters=query_parameters(ScanArgsSchema))
    @blp.response(200, ScanViewSchema)
    @blp.alt_response(404, description="Not a code of this platform")
    @blp.alt_response(422, description="Malformed code")
    def get(self, code):
        """Show the consumer view for a code: alerts first, then the whole story."""
        return scan_response(scan_path().scan(channel_request(code, ScanChannel.MINIPROGRAM)))


ping = Blueprint("ping", __name__, url_prefix="/ping", description="Liveness")


@ping.route("")
class Ping(MethodView):
    """A trivial endpoint (the yardstick of the scan benchmarks)."""

    @ping.doc(
        responses={
            "200": {
                "description": "Alive",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {"ok": {"type": "boolean"}},
                            "required": ["ok"],
                        }
                    }
                },
            }
        }
    )
    def get(self):
        """Answer at once, touching nothing."""
        return jsonify(ok=True)


blueprints = [blp, ping]
