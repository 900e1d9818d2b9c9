"""Configuration: environment variables read through config classes, and nowhere else.

`YIPIN_ENV` chooses the class (``production`` unless told otherwise, so a forgotten
variable fails safe). Every problem found here is a :class:`ConfigError` whose message is
one sentence an operator can act on; the factory turns it into a clean exit.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"
SUPPORTED_DATABASES = ("sqlite", "postgresql")


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and what to do."""


def _env(name: str, default: str | None = None) -> str | None:
    """Return an environment variable, treating an empty value as unset."""
    value = os.environ.get(name)
    return value if value not in (None, "") else default


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "production"
    DEBUG = False
    TESTING = False

    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'yipin.db'}")
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    PUBLIC_HOST = _env("PUBLIC_HOST", "yipin.example.cn")
    PUBLIC_SCHEME = _env("PUBLIC_SCHEME", "https")
    WECHAT_APPID = _env("WECHAT_APPID")
    WECHAT_SECRET = _env("WECHAT_SECRET")
    WECHAT_API_BASE_URL = _env("WECHAT_API_BASE_URL", "https://api.weixin.qq.com/")
    WECHAT_TIMEOUT = float(_env("WECHAT_TIMEOUT", "5"))  # seconds for each call to WeChat
    REDIS_URL = _env("REDIS_URL")
    UPLOAD_DIR = _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads"))
    # Uploads (ledger photos, vouchers, reports): the largest file accepted; any request
    # body past it plus room for the multipart envelope is refused with a 413.
    UPLOAD_MAX_BYTES = int(_env("UPLOAD_MAX_BYTES", str(8 * 1024 * 1024)))
    MAX_CONTENT_LENGTH = UPLOAD_MAX_BYTES + 64 * 1024
    # Where files live: "local" (UPLOAD_DIR) or "s3" (an S3-compatible bucket, via boto3).
    STORAGE_BACKEND = _env("STORAGE_BACKEND", "local")
    S3_BUCKET = _env("S3_BUCKET")
    S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL")  # unset: AWS itself
    S3_REGION = _env("S3_REGION", "us-east-1")
    S3_PREFIX = _env("S3_PREFIX", "")  # e.g. "yipin/" to share a bucket
    AWS_ACCESS_KEY_ID = _env("AWS_ACCESS_KEY_ID")  # unset: boto3's own credential chain
    AWS_SECRET_ACCESS_KEY = _env("AWS_SECRET_ACCESS_KEY")
    # Wrong invite codes an operator may enter before being told to wait.
    INVITE_FAILURE_LIMIT = _env("INVITE_FAILURE_LIMIT", "10/hour")
    # Chinese font for label sheets (``path`` or ``path#face``); found on the system if unset.
    LABEL_FONT_PATH = _env("LABEL_FONT_PATH")
    # Background jobs: Celery on Redis when REDIS_URL is set, run inline otherwise.
    CELERY_ALWAYS_EAGER = _env("CELERY_ALWAYS_EAGER", "") == "1" or not _env("REDIS_URL")

    # The console (/console): password accounts for regulators and inspectors.
    PASSWORD_HASH_METHOD = "scrypt"  # werkzeug.security's method for new password hashes
    # Failed console logins per username and per client address, then refused until the
    # window ends.
    CONSOLE_LOGIN_LIMIT_USER = _env("CONSOLE_LOGIN_LIMIT_USER", "5/minute;20/hour")
    CONSOLE_LOGIN_LIMIT_CLIENT = _env("CONSOLE_LOGIN_LIMIT_CLIENT", "20/minute;100/hour")
    # CSRF: every FlaskForm checks its token, and the console's blueprints check every
    # unsafe request; nothing is checked app-wide, so the JSON API under /api/ is exempt.
    WTF_CSRF_CHECK_DEFAULT = False
    WTF_CSRF_TIME_LIMIT = None  # a token lives as long as the session it belongs to
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", "1") == "1"  # HTTPS only
    # Strict-Transport-Security on every response (seconds; 0 sends none): servers speak HTTPS.
    HSTS_MAX_AGE = int(_env("HSTS_MAX_AGE", str(2 * 365 * 86400)))
    # Registry import (CSV or XLSX directory of workshops): largest file and most rows.
    REGISTRY_IMPORT_MAX_BYTES = int(_env("REGISTRY_IMPORT_MAX_BYTES", str(2 * 1024 * 1024)))
    REGISTRY_IMPORT_MAX_ROWS = int(_env("REGISTRY_IMPORT_MAX_ROWS", "5000"))

    TIMEZONE = "Asia/Shanghai"
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    API_TITLE = "Yipin 一品一码 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    # The scan path.
    # Counterfeit signals (backend/codes/signals.py). No national standard sets these: they
    # are this platform's policy (issue 15), chosen so that one client, a household or a
    # banquet table never raises a warning, and named in the warning itself.
    # - a unit code scanned from more than this many distinct client networks (/24, /48):
    #   one bottle is not handled by that many consumers (the earlier rule counted scans,
    #   "more than 20", which one client reloading a page could reach)
    SCAN_WARNING_THRESHOLD = int(_env("SCAN_WARNING_THRESHOLD", "20"))
    # - scans from provinces whose capitals lie at least SCAN_DISTANT_KM apart within
    #   SCAN_DISTANT_HOURS of each other (region derived on the server from the client
    #   address, backend/scan/regions.py); 1000 km is more than any road or rail journey
    #   of that time
    SCAN_DISTANT_KM = int(_env("SCAN_DISTANT_KM", "1000"))
    SCAN_DISTANT_HOURS = int(_env("SCAN_DISTANT_HOURS", "6"))
    # A visitor's scans within this many seconds of their last one are repeats, not another
    # consumer's scan (visitor: mini-program user, H5 cookie, or client address and agent).
    SCAN_VISITOR_WINDOW = int(_env("SCAN_VISITOR_WINDOW", str(7 * 86400)))
    SCAN_VISITOR_COOKIE = "yipin_visitor"  # the H5 page's first-party visitor cookie
    SCAN_SALT = _env("SCAN_SALT")  # salt of visitor hashes (defaults to SECRET_KEY)
    SCAN_VIEW_TTL = 30  # seconds a batch's view is cached (also invalidated on change)
    # seconds a worker keeps a view whose generations every scan checks (Redis only); at most
    # half of PLAYBACK_LINK_TTL, for the links the view hands out
    SCAN_VIEW_CHECKED_TTL = int(_env("SCAN_VIEW_CHECKED_TTL", "600"))
    SCAN_FLUSH_INTERVAL = float(_env("SCAN_FLUSH_INTERVAL", "5.0"))  # 0: flush by hand
    # Seconds after which a batch of scan events claimed by a flusher that never finished
    # (a killed worker) goes back to the queue; longer than any one flush takes.
    SCAN_FLUSH_LEASE = float(_env("SCAN_FLUSH_LEASE", "60"))
    SCAN_RATE_LIMIT = _env("SCAN_RATE_LIMIT", "60/minute")  # scans per client
    SCAN_FAILURE_LIMIT = _env("SCAN_FAILURE_LIMIT", "10/minute;40/hour")  # unknown codes
    RATELIMIT_ENABLED = _env("RATELIMIT_ENABLED", "1") == "1"
    # Without Redis, every worker of this host counts its rate limits in this SQLite file,
    # so a limit holds at its value whatever the number of gunicorn workers (several hosts
    # need Redis). Empty: counted in each process (one process only, e.g. flask run).
    RATELIMIT_STORE_PATH = _env("RATELIMIT_STORE_PATH", str(INSTANCE_DIR / "ratelimits.sqlite3"))
    # Number of proxies (nginx) in front of gunicorn whose X-Forwarded-For is trusted.
    PROXY_FIX_X_FOR = int(_env("PROXY_FIX_X_FOR", "0"))
    # WeChat's "scan ordinary link QR" domain verification file, e.g. /t/AbCd123.txt
    WECHAT_VERIFY_PATH = _env("WECHAT_VERIFY_PATH")
    WECHAT_VERIFY_CONTENT = _env("WECHAT_VERIFY_CONTENT", "")
    # The mini-program page that opens for a scanned mini-program code (scene = the code).
    WECHAT_SCAN_PAGE = _env("WECHAT_SCAN_PAGE", "pages/scan/index")

    # Reminders by WeChat subscribe message (see backend/reminders/services.py). A kind whose
    # template id is unset is not sent. *_FIELDS map our values to the template's data keys
    # ("role:key,..."); the key's type (thing, date, name...) decides how a value is fitted.
    REMINDER_TEMPLATE_LEDGER = _env("REMINDER_TEMPLATE_LEDGER")
    REMINDER_TEMPLATE_CERT = _env("REMINDER_TEMPLATE_CERT")
    REMINDER_LEDGER_FIELDS = _env(
        "REMINDER_LEDGER_FIELDS", "workshop:thing1,date:date2,missing:thing3,tip:thing4"
    )
    REMINDER_CERT_FIELDS = _env(
        "REMINDER_CERT_FIELDS", "staff:name1,certificate:thing2,expires:date3,tip:thing4"
    )
    REMINDER_LEDGER_PAGE = _env("REMINDER_LEDGER_PAGE", "pages/today/index")
    REMINDER_CERT_PAGE = _env("REMINDER_CERT_PAGE", "pages/staff/index")
    REMINDER_LEDGER_HOUR = int(_env("REMINDER_LEDGER_HOUR", "17"))  # local hour, 0-23
    REMINDER_CERT_HOUR = int(_env("REMINDER_CERT_HOUR", "9"))  # no reminders at night
    REMINDER_CERT_DAYS = int(_env("REMINDER_CERT_DAYS", "30"))  # expiring within this many
    REMINDER_EVERY_MINUTES = int(_env("REMINDER_EVERY_MINUTES", "15"))  # Celery beat, 1-60

    # Live kitchen (明厨亮灶, see backend/cameras/). The streaming server (nginx-rtmp or SRS)
    # calls /streaming/... and is trusted when it sends STREAMING_CALLBACK_SECRET (in the
    # callback URL's ``secret`` argument or the X-Streaming-Secret header) or comes from an
    # address in STREAMING_ALLOWED_ADDRS (comma-separated addresses or networks); with
    # neither set, every callback is refused.
    STREAMING_CALLBACK_SECRET = _env("STREAMING_CALLBACK_SECRET")
    STREAMING_ALLOWED_ADDRS = _env("STREAMING_ALLOWED_ADDRS", "")
    STREAMING_APP = _env("STREAMING_APP", "live")  # the RTMP application cameras push to
    # Where cameras push (shown to regulators) and where signed HLS links point; unset:
    # rtmp://<PUBLIC_HOST's host>/live and <PUBLIC_SCHEME>://<PUBLIC_HOST>/hls.
    STREAMING_RTMP_URL = _env("STREAMING_RTMP_URL")
    STREAMING_HLS_BASE_URL = _env("STREAMING_HLS_BASE_URL")
    # Playback links: HMAC-SHA256 key (unset: derived from SECRET_KEY) and lifetime (s).
    PLAYBACK_SIGNING_KEY = _env("PLAYBACK_SIGNING_KEY")
    PLAYBACK_LINK_TTL = int(_env("PLAYBACK_LINK_TTL", "3600"))
    # Tencent Cloud live (云直播): push and playback domains and their anti-leech keys.
    TENCENT_LIVE_PUSH_DOMAIN = _env("TENCENT_LIVE_PUSH_DOMAIN")
    TENCENT_LIVE_PUSH_KEY = _env("TENCENT_LIVE_PUSH_KEY")
    TENCENT_LIVE_PLAY_DOMAIN = _env("TENCENT_LIVE_PLAY_DOMAIN")
    TENCENT_LIVE_PLAY_KEY = _env("TENCENT_LIVE_PLAY_KEY")
    TENCENT_LIVE_APP = _env("TENCENT_LIVE_APP", "live")
    TENCENT_LIVE_PUSH_DAYS = int(_env("TENCENT_LIVE_PUSH_DAYS", "365"))  # push link lifetime
    # Background checks: probe playlists of cameras without callbacks (Tencent) and mark
    # cameras offline that the streaming server has not mentioned for STREAM_STALE_AFTER s.
    STREAM_PROBE_INTERVAL = int(_env("STREAM_PROBE_INTERVAL", "60"))
    STREAM_STALE_AFTER = int(_env("STREAM_STALE_AFTER", "90"))
    # Snapshots of live cameras with ffmpeg, every SNAPSHOT_INTERVAL s (0: never).
    SNAPSHOT_INTERVAL = int(_env("SNAPSHOT_INTERVAL", "300"))
    SNAPSHOT_TIMEOUT = int(_env("SNAPSHOT_TIMEOUT", "20"))
    FFMPEG_PATH = _env("FFMPEG_PATH", "ffmpeg")

    # Operations. Logs: "json" (one JSON object per line, with the request id) or "text";
    # ACCESS_LOG writes one line per request (method, endpoint, status, duration).
    LOG_FORMAT = _env("LOG_FORMAT", "json")
    LOG_LEVEL = _env("LOG_LEVEL", "INFO")
    ACCESS_LOG = _env("ACCESS_LOG", "1") == "1"
    # Prometheus metrics at /metrics, for addresses in METRICS_ALLOWED_ADDRS or a client
    # sending "Authorization: Bearer <METRICS_TOKEN>". With gunicorn's several workers set
    # PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py does) so every worker is counted.
    METRICS_ENABLED = _env("METRICS_ENABLED", "1") == "1"
    METRICS_ALLOWED_ADDRS = _env("METRICS_ALLOWED_ADDRS", "127.0.0.1,::1")
    METRICS_TOKEN = _env("METRICS_TOKEN")
    # Set (by deploy/gunicorn.conf.py) when several worker processes count into files there;
    # prometheus_client reads the same variable when it is imported.
    PROMETHEUS_MULTIPROC_DIR = _env("PROMETHEUS_MULTIPROC_DIR")

    @classmethod
    def validate(cls, settings: dict) -> None:
        """Raise :class:`ConfigError` when the settings cannot run this environment."""
        if not settings.get("SECRET_KEY"):
            raise ConfigError(
                "SECRET_KEY is not set: set it to a long random string "
                "(or set YIPIN_ENV=development for a local run)."
            )
        _check_database_url(settings.get("SQLALCHEMY_DATABASE_URI"))
        _check_reminders(settings)
        _check_storage(settings)
        _check_streaming(settings)
        _check_operations(settings)
        _check_scan_signals(settings)


class DevelopmentConfig(Config):
    """A laptop: SQLite in instance/, debug on, plain HTTP links to 127.0.0.1:5000."""

    ENV_NAME = "development"
    DEBUG = True
    SECRET_KEY = _env("SECRET_KEY", "dev-only-not-secret")
    PUBLIC_HOST = _env("PUBLIC_HOST", "127.0.0.1:5000")
    PUBLIC_SCHEME = _env("PUBLIC_SCHEME", "http")
    SESSION_COOKIE_SECURE = _env("SESSION_COOKIE_SECURE", "0") == "1"  # plain http locally
    HSTS_MAX_AGE = int(_env("HSTS_MAX_AGE", "0"))  # no HSTS for 127.0.0.1 over plain http
    LOG_FORMAT = _env("LOG_FORMAT", "text")  # readable in a terminal


class TestingConfig(Config):
    """The test suite: its own database (TEST_DATABASE_URL or a temporary SQLite file)."""

    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "test-secret"
    SQLALCHEMY_DATABASE_URI = _env("TEST_DATABASE_URL", "sqlite://")
    PUBLIC_HOST = "yipin.test"
    PUBLIC_SCHEME = "https"
    WECHAT_APPID = None
    WECHAT_SECRET = None
    REDIS_URL = None
    CELERY_ALWAYS_EAGER = True
    SCAN_FLUSH_INTERVAL = 0.0
    RATELIMIT_ENABLED = True
    RATELIMIT_STORE_PATH = None  # each test's counters in its own process (reset per test)
    SCAN_WARNING_THRESHOLD = 20
    SCAN_DISTANT_KM = 1000
    SCAN_DISTANT_HOURS = 6
    SCAN_VISITOR_WINDOW = 7 * 86400
    SCAN_RATE_LIMIT = "60/minute"
    SCAN_FAILURE_LIMIT = "10/minute;40/hour"
    WECHAT_VERIFY_PATH = "/t/WxVerify123.txt"
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast: tests hash many passwords
    CONSOLE_LOGIN_LIMIT_USER = "5/minute;20/hour"
    CONSOLE_LOGIN_LIMIT_CLIENT = "20/minute;100/hour"
    SESSION_COOKIE_SECURE = False  # the test client speaks plain http
    HSTS_MAX_AGE = 0  # tests that need HSTS turn it on
    REGISTRY_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    REGISTRY_IMPORT_MAX_ROWS = 5000
    STORAGE_BACKEND = "local"
    WECHAT_VERIFY_CONTENT = "wx-verify-content-123"
    REMINDER_TEMPLATE_LEDGER = "tmpl-ledger"
    REMINDER_TEMPLATE_CERT = "tmpl-cert"
    REMINDER_LEDGER_FIELDS = "workshop:thing1,date:date2,missing:thing3,tip:thing4"
    REMINDER_CERT_FIELDS = "staff:name1,certificate:thing2,expires:date3,tip:thing4"
    REMINDER_LEDGER_PAGE = "pages/today/index"
    REMINDER_CERT_PAGE = "pages/staff/index"
    REMINDER_LEDGER_HOUR = 17
    REMINDER_CERT_HOUR = 9
    REMINDER_CERT_DAYS = 30
    REMINDER_EVERY_MINUTES = 15
    STREAMING_CALLBACK_SECRET = "test-streaming-secret"
    STREAMING_ALLOWED_ADDRS = ""
    STREAMING_APP = "live"
    STREAMING_RTMP_URL = "rtmp://live.yipin.test/live"
    STREAMING_HLS_BASE_URL = "https://live.yipin.test/hls"
    PLAYBACK_SIGNING_KEY = "test-playback-key"
    PLAYBACK_LINK_TTL = 3600
    TENCENT_LIVE_PUSH_DOMAIN = "push.tencent.test"
    TENCENT_LIVE_PUSH_KEY = "tencent-push-key"
    TENCENT_LIVE_PLAY_DOMAIN = "play.tencent.test"
    TENCENT_LIVE_PLAY_KEY = "tencent-play-key"
    TENCENT_LIVE_APP = "live"
    TENCENT_LIVE_PUSH_DAYS = 365
    STREAM_PROBE_INTERVAL = 60
    STREAM_STALE_AFTER = 90
    SNAPSHOT_INTERVAL = 300
    SNAPSHOT_TIMEOUT = 20
    FFMPEG_PATH = "ffmpeg"


class ProductionConfig(Config):
    """A server: every secret must come from the environment."""


CONFIGS = {
    "production": ProductionConfig,
    "development": DevelopmentConfig,
    "testing": TestingConfig,
}


def config_class() -> type[Config]:
    """Return the config class named by YIPIN_ENV (default: production)."""
    name = _env("YIPIN_ENV", "production")
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(
            f"YIPIN_ENV={name!r} is not one of {', '.join(sorted(CONFIGS))}."
        ) from None


def _check_database_url(url: str | None) -> None:
    """Raise :class:`ConfigError` unless *url* is a SQLite or PostgreSQL URL we can use."""
    if not url:
        raise ConfigError("DATABASE_URL is empty: give a sqlite:/// or postgresql:// URL.")
    try:
        parsed = make_url(normalise_database_url(url))
    except (ArgumentError, ValueError):
        raise ConfigError(
            "DATABASE_URL is not a database URL: expected something like "
            "postgresql://user@host:5432/yipin or sqlite:///instance/yipin.db."
        ) from None
    if parsed.get_backend_name() not in SUPPORTED_DATABASES:
        raise ConfigError(
            f"DATABASE_URL uses {parsed.get_backend_name()!r}, but Yipin runs on "
            "sqlite or postgresql only."
        )
    if parsed.get_backend_name() == "postgresql" and not parsed.database:
        raise ConfigError("DATABASE_URL names no database: add /<name> after the host.")
    try:
        parsed.get_dialect()
    except NoSuchModuleError:
        raise ConfigError(
            f"DATABASE_URL asks for the driver {parsed.drivername!r}, which SQLAlchemy does "
            "not know: use postgresql:// or sqlite:///."
        ) from None


def _check_storage(settings: dict) -> None:
    """Raise :class:`ConfigError` unless the file storage backend is known and complete."""
    backend = settings.get("STORAGE_BACKEND") or "local"
    if backend not in ("local", "s3"):
        raise ConfigError(f"STORAGE_BACKEND={backend!r} is not one of local, s3.")
    if backend == "s3" and not settings.get("S3_BUCKET"):
        raise ConfigError("STORAGE_BACKEND=s3 needs S3_BUCKET: the name of the bucket to use.")


REMINDER_ROLES = {
    "REMINDER_LEDGER_FIELDS": ("workshop", "date", "missing", "tip"),
    "REMINDER_CERT_FIELDS": ("staff", "certificate", "expires", "workshop", "tip"),
}


def parse_field_map(spec: str) -> dict[str, str]:
    """Parse ``"role:key,role:key"`` into {role: key}; :class:`ConfigError` when malformed."""
    fields = {}
    for part in (spec or "").split(","):
        role, _, key = part.strip().partition(":")
        if not role or not re.fullmatch(r"[a-z_]+[0-9]+", key.strip()):
            raise ConfigError(
                f"{spec!r} is not a list of role:key pairs such as workshop:thing1,date:date2."
            )
        fields[role.strip()] = key.strip()
    return fields


def _check_reminders(settings: dict) -> None:
    """Raise :class:`ConfigError` unless the reminder settings make sense."""
    for name, low, high in (
        ("REMINDER_LEDGER_HOUR", 0, 23),
        ("REMINDER_CERT_HOUR", 0, 23),
        ("REMINDER_CERT_DAYS", 1, 366),
        ("REMINDER_EVERY_MINUTES", 1, 60),
    ):
        if not low <= settings.get(name, low) <= high:
            raise ConfigError(f"{name} must be between {low} and {high}.")
    for name, roles in REMINDER_ROLES.items():
        try:
            unknown = set(parse_field_map(settings.get(name, ""))) - set(roles)
        except ConfigError as exc:
            raise ConfigError(f"{name}: {exc}") from None
        if unknown:
            raise ConfigError(
                f"{name} names {', '.join(sorted(unknown))}; known are {', '.join(roles)}."
            )


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` and ``postgres://`` URLs."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def parse_networks(spec: str | None) -> list:
    """Parse ``"127.0.0.1, 10.0.0.0/8"`` into networks; :class:`ConfigError` when malformed."""
    import ipaddress

    networks = []
    for part in (spec or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigError(
                f"{part!r} is not an IP address or network such as 127.0.0.1 or 10.0.0.0/8."
            ) from None
    return networks


def _check_operations(settings: dict) -> None:
    """Raise :class:`ConfigError` unless the log and metrics settings make sense."""
    if settings.get("LOG_FORMAT") not in ("json", "text"):
        raise ConfigError("LOG_FORMAT must be json or text.")
    if str(settings.get("LOG_LEVEL", "")).upper() not in (
        "DEBUG",
        "INFO",
        "WARNING",
        "ERROR",
        "CRITICAL",
    ):
        raise ConfigError("LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL.")
    try:
        parse_networks(settings.get("METRICS_ALLOWED_ADDRS"))
    except ConfigError as exc:
        raise ConfigError(f"METRICS_ALLOWED_ADDRS: {exc}") from None


def address_allowed(remote_addr: str | None, spec: str | None) -> bool:
    """Whether *remote_addr* lies inside one of the networks of *spec* (none: False)."""
    import ipaddress

    networks = parse_networks(spec)
    if not networks or not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr.split("%")[0])
    except ValueError:
        return False
    return any(address in network for network in networks)


def _check_streaming(settings: dict) -> None:
    """Raise :class:`ConfigError` unless the live-kitchen settings make sense."""
    secret = settings.get("STREAMING_CALLBACK_SECRET")
    if secret and not re.fullmatch(r"[A-Za-z0-9._~-]{16,200}", secret):
        raise ConfigError(
            "STREAMING_CALLBACK_SECRET must be 16 to 200 letters, digits or . _ ~ - "
            "(nginx-rtmp sends it in its callback URLs)."
        )
    try:
        parse_networks(settings.get("STREAMING_ALLOWED_ADDRS"))
    except ConfigError as exc:
        raise ConfigError(f"STREAMING_ALLOWED_ADDRS: {exc}") from None
    for name, schemes in (
        ("STREAMING_RTMP_URL", ("rtmp://", "rtmps://")),
        ("STREAMING_HLS_BASE_URL", ("http://", "https://")),
    ):
        value = settings.get(name)
        if value and not value.startswith(schemes):
            raise ConfigError(f"{name} must start with {' or '.join(schemes)}.")
    app_name = settings.get("STREAMING_APP", "live")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", app_name or ""):
        raise ConfigError("STREAMING_APP must be 1 to 32 letters, digits, - or _ (e.g. live).")
    ttl = settings.get("PLAYBACK_LINK_TTL", 3600)
    if not max(60, 2 * settings.get("SCAN_VIEW_TTL", 30)) <= ttl <= 7 * 24 * 3600:
        raise ConfigError(
            "PLAYBACK_LINK_TTL must be between twice SCAN_VIEW_TTL (at least 60) and 604800 "
            "seconds: cached scan views hand out links that must still work."
        )
    for domain, key in (
        ("TENCENT_LIVE_PUSH_DOMAIN", "TENCENT_LIVE_PUSH_KEY"),
        ("TENCENT_LIVE_PLAY_DOMAIN", "TENCENT_LIVE_PLAY_KEY"),
    ):
        if settings.get(domain) and not settings.get(key):
            raise ConfigError(f"{domain} is set but {key} is not: copy it from Tencent's console.")
    if not 1 <= settings.get("TENCENT_LIVE_PUSH_DAYS", 365) <= 3650:
        raise ConfigError("TENCENT_LIVE_PUSH_DAYS must be between 1 and 3650.")
    for name, low in (
        ("STREAM_PROBE_INTERVAL", 10),
        ("STREAM_STALE_AFTER", 10),
        ("SNAPSHOT_TIMEOUT", 1),
    ):
        if settings.get(name, low) < low:
            raise ConfigError(f"{name} must be at least {low} seconds.")
    interval = settings.get("SNAPSHOT_INTERVAL", 300)
    if interval != 0 and interval < 30:
        raise ConfigError("SNAPSHOT_INTERVAL must be 0 (no snapshots) or at least 30 seconds.")


def _check_scan_signals(settings: dict) -> None:
    """Raise :class:`ConfigError` unless the counterfeit-signal settings make sense."""
    for name, low, high in (
        ("SCAN_WARNING_THRESHOLD", 2, 10_000),
        ("SCAN_DISTANT_KM", 100, 10_000),
        ("SCAN_DISTANT_HOURS", 1, 72),
        ("SCAN_VISITOR_WINDOW", 60, 366 * 86400),
    ):
        value = settings.get(name, low)
        if not low <= value <= high:
            raise ConfigError(f"{name} must be between {low} and {high} (it is {value}).")
