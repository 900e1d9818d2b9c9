"""The consumer scan, for the mini-program: no login, rate limited, fast."""

from __future__ import annotations

from flask import Response, current_app, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.codes import scan as scans
from backend.codes.models import ScanChannel
from backend.codes.schemas import ScanArgsSchema, ScanLinkArgsSchema, ScanViewSchema
from backend.extensions import limiter

blp = Blueprint("scan", __name__, url_prefix="/scan", description="Consumer scans")


def scan_limit() -> str:
    """Scans allowed per client."""
    return current_app.config["SCAN_RATE_LIMIT"]


def failure_limit() -> str:
    """Failed look-ups (malformed or unknown codes) allowed per client: far fewer."""
    return current_app.config["SCAN_FAILURE_LIMIT"]


def failed(response) -> bool:
    """Count a response against the failure limit when the code was bad."""
    return response.status_code in (404, 422)


def client_identity() -> str:
    """Who is scanning, as far as we can tell without a login (hashed before storing)."""
    return f"{request.remote_addr}|{request.user_agent.string[:200]}"


def scan_response(result: scans.ScanResult) -> Response:
    """The view as JSON; the cached part of the body is spliced in, not re-serialised."""
    return Response(result.to_json(), mimetype="application/json")


limits = [
    limiter.limit(scan_limit, scope="scan"),
    limiter.limit(failure_limit, scope="scan-failures", deduct_when=failed),
]


@blp.route("")
class ScanByLink(MethodView):
    """Scan by the printed link (what WeChat passes to the mini-program as `q`)."""

    decorators = limits

    @blp.arguments(ScanLinkArgsSchema, location="query")
    @blp.response(200, ScanViewSchema)
    @blp.alt_response(404, description="Not a code of this platform")
    @blp.alt_response(422, description="Malformed code or link of another host")
    def get(self, args):
        """Show the consumer view for the code in a printed link."""
        code, channel, link = scans.parse_link(args["q"])
        result = scans.scan(
            code, channel=channel, visitor=client_identity(), region=args["region"], link=link
        )
        return scan_response(result)


@blp.route("/<code>")
class ScanByCode(MethodView):
    """Scan by the code itself."""

    decorators = limits

    @blp.arguments(ScanArgsSchema, location="query")
    @blp.response(200, ScanViewSchema)
    @blp.alt_response(404, description="Not a code of this platform")
    @blp.alt_response(422, description="Malformed code")
    def get(self, args, code):
        """Show the consumer view for a code: alerts first, then the whole story."""
        result = scans.scan(
            code, channel=ScanChannel.MINIPROGRAM, visitor=client_identity(), region=args["region"]
        )
        return scan_response(result)


ping = Blueprint("ping", __name__, url_prefix="/ping", description="Liveness")


@ping.route("")
class Ping(MethodView):
    """A trivial endpoint (the yardstick of the scan benchmarks)."""

    def get(self):
        """Answer at once, touching nothing."""
        return jsonify(ok=True)
