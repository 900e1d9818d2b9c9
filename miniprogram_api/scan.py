"""The consumer scan, for the mini-program: no login, rate limited, fast."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint

from backend.codes.models import ScanChannel
from backend.scan import (
    ScanArgsSchema,
    ScanLinkArgsSchema,
    ScanRequest,
    ScanResult,
    ScanViewSchema,
    client_identity,
    not_a_scan,
    parse_link,
    scan_limited,
    scan_limits,
    scan_path,
)

blp = Blueprint("scan", __name__, url_prefix="/scan", description="Consumer scans")


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
