"""Filling in ``deploy/nginx-rtmp.conf``: its ``@@...@@`` placeholders are ports, paths and
the shared callback secret, nothing else, so the file that runs is the file in the
repository (the integration test runs it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = ROOT / "deploy" / "nginx-rtmp.conf"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"  # Debian's libnginx-mod-rtmp
PLACEHOLDER = re.compile(r"@@([A-Z_]+)@@")
LISTEN = re.compile(r"^(\d{1,5}|[0-9.]+:\d{1,5}|\[[0-9a-fA-F:]+\]:\d{1,5})$")
ADDRESS = re.compile(r"^[A-Za-z0-9.\-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$")
PATH = re.compile(r"^/[A-Za-z0-9._/\-]*$")
SECRET = re.compile(r"^[A-Za-z0-9._~\-]{16,200}$")


class ConfError(ValueError):
    """A value cannot go into the nginx configuration; the message says which."""


@dataclass(frozen=True)
class NginxValues:
    """What the placeholders of deploy/nginx-rtmp.conf are filled with."""

    rtmp_listen: str  # "1935" or "127.0.0.1:1935"
    http_listen: str  # where /hls/ is served, e.g. "127.0.0.1:8081"
    yipin_addr: str  # host:port of Yipin (gunicorn), e.g. "127.0.0.1:8000"
    hls_dir: str  # where HLS files are written
    run_dir: str  # pid file and nginx's temporary files
    log_dir: str  # error and access logs
    secret: str  # STREAMING_CALLBACK_SECRET
    rtmp_module: str = RTMP_MODULE

    def check(self) -> dict[str, str]:
        """The placeholder values, or :class:`ConfError` for one nginx would misread."""
        values = {
            "RTMP_LISTEN": (self.rtmp_listen, LISTEN),
            "HTTP_LISTEN": (self.http_listen, LISTEN),
            "YIPIN_ADDR": (self.yipin_addr, ADDRESS),
            "HLS_DIR": (self.hls_dir, PATH),
            "RUN_DIR": (self.run_dir, PATH),
            "LOG_DIR": (self.log_dir, PATH),
            "SECRET": (self.secret, SECRET),
            "RTMP_MODULE": (self.rtmp_module, PATH),
        }
        for name, (value, pattern) in values.items():
            if not pattern.match(value or ""):
                if name == "SECRET":
                    raise ConfError(
                        "STREAMING_CALLBACK_SECRET must be 16 to 200 letters, digits or . _ ~ - "
                        "(it goes into the callback URLs)."
                    )
                raise ConfError(f"{name.lower()} {value!r} cannot go into the nginx configuration.")
        return {name: value for name, (value, _) in values.items()}


def render(values: NginxValues, template: str | None = None) -> str:
    """deploy/nginx-rtmp.conf (or *template*) with every placeholder filled in."""
    text = TEMPLATE.read_text(encoding="utf-8") if template is None else template
    filled = values.check()
    unknown = sorted(set(PLACEHOLDER.findall(text)) - set(filled))
    if unknown:
        raise ConfError(f"the template has placeholders nobody fills: {', '.join(unknown)}")
    return PLACEHOLDER.sub(lambda m: filled[m.group(1)], text)
