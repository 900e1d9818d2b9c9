"""``flask --app backend video ...``: the streaming server's nginx configuration, and the
live kitchen's background checks run by hand."""

from __future__ import annotations

import click
from flask import current_app

from backend.core.transactions import committing
from backend.extensions import db


@click.group("video")
def video_group() -> None:
    """Live kitchen: nginx-rtmp configuration, stream checks, snapshots."""


@video_group.command("nginx-conf")
@click.option("--rtmp-listen", default="1935", show_default=True, help="RTMP port or addr:port.")
@click.option("--http-listen", default="127.0.0.1:8081", show_default=True, help="HLS server.")
@click.option(
    "--yipin",
    "yipin_addr",
    default="127.0.0.1:8000",
    show_default=True,
    help="host:port where nginx reaches Yipin (gunicorn).",
)
@click.option("--hls-dir", default="/var/lib/yipin-rtmp/hls", show_default=True)
@click.option("--run-dir", default="/var/lib/yipin-rtmp/run", show_default=True)
@click.option("--log-dir", default="/var/log/yipin-rtmp", show_default=True)
def nginx_conf(rtmp_listen, http_listen, yipin_addr, hls_dir, run_dir, log_dir) -> None:
    """Print deploy/nginx-rtmp.conf filled in (secret: STREAMING_CALLBACK_SECRET)."""
    from backend.cameras.deploy import ConfError, NginxValues, render

    values = NginxValues(
        rtmp_listen=rtmp_listen,
        http_listen=http_listen,
        yipin_addr=yipin_addr,
        hls_dir=hls_dir,
        run_dir=run_dir,
        log_dir=log_dir,
        secret=current_app.config.get("STREAMING_CALLBACK_SECRET") or "",
    )
    try:
        click.echo(render(values), nl=False)
    except ConfError as exc:
        raise click.ClickException(str(exc)) from None


@video_group.command("check")
@committing
def video_check() -> None:
    """Mark silent cameras offline and probe Tencent cameras now (the periodic job)."""
    from backend.cameras.probe import check_streams

    report = check_streams(checkpoint=db.session.commit)
    click.echo(
        f"probed {report.probed}; live: {report.went_live or '-'}; "
        f"offline: {report.went_offline or '-'}"
    )


@video_group.command("snapshots")
@committing
def video_snapshots() -> None:
    """Take a snapshot of every live camera now (the periodic job)."""
    from backend.cameras.snapshots import take_snapshots

    report = take_snapshots(checkpoint=db.session.commit, rollback=db.session.rollback)
    click.echo(f"taken: {report.taken or '-'}; failed: {report.failed or '-'}")
