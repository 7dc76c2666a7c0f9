"""Configuration: shape and defaults here, values from ``LMS_*`` environment variables.

The defaults are the *embedded* deployment: a SQLite database and a SQLite-backed Celery broker in
``instance/``, nothing to install but Python.  The scale-out deployment sets ``LMS_DATABASE_URL`` (PostgreSQL)
and ``LMS_BROKER_URL`` (Redis or RabbitMQ).  ``LMS_ENV=production`` refuses to start without a secret key and a
database URL.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("LMS_INSTANCE_PATH", BASE_DIR / "instance"))


class ConfigError(RuntimeError):
    """A required setting is missing or wrong; the message says which variable to set."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _seconds(name: str, default: int) -> int:
    return int(_env(name, str(default)) or default)


# The outbox sweeps and the broker's redelivery (ADR 23): how fast lost or stuck work comes back.
COMPLETIONS_SWEEP_SECONDS = _seconds("LMS_COMPLETIONS_SWEEP_SECONDS", 60)
TITLES_SWEEP_SECONDS = _seconds("LMS_TITLES_SWEEP_SECONDS", 15)
# Redis (and SQS) hand an unacknowledged message to another worker after this long: a task killed with its worker
# comes back then. Longer than any task runs (a redelivered task that is still running is done twice: harmless,
# every task is idempotent, but wasted).
BROKER_VISIBILITY_TIMEOUT = _seconds("LMS_BROKER_VISIBILITY_TIMEOUT", 300)


def _transport_options(broker_url: str) -> dict:
    """The visibility timeout is Redis's (and SQS's) notion; kombu's SQLAlchemy transport (the embedded default)
    hands its options to ``create_engine``, which refuses unknown ones."""
    if broker_url.startswith(("redis", "rediss", "sentinel", "sqs")):
        return {"visibility_timeout": BROKER_VISIBILITY_TIMEOUT}
    return {}


def _sqlite_url(filename: str) -> str:
    return f"sqlite:///{INSTANCE_DIR / filename}"


class Config:
    ENV_NAME = "development"
    # Unset outside production: create_app then uses the instance's own key (lms/core/instance_key.py).
    SECRET_KEY = _env("LMS_SECRET_KEY")
    # Key for personal identification numbers (encryption + keyed look-up hash). Defaults to a key derived from
    # SECRET_KEY so a development install works; production must set it separately (rotation of the session key
    # must not make stored ID numbers unreadable).
    PII_KEY = _env("LMS_PII_KEY")
    # Key that encrypts the issuers' private signing keys at rest (ADR 25). Development derives one from SECRET_KEY;
    # production refuses to sign a credential without it. CREDENTIALS_DOMAIN: the host of the issuers' did:web
    # identifiers ("lms.example.vn"); unset, the host of the request.
    CREDENTIALS_KEY = _env("LMS_CREDENTIALS_KEY")
    CREDENTIALS_DOMAIN = _env("LMS_CREDENTIALS_DOMAIN")

    # How new passwords are hashed (a werkzeug method): scrypt with werkzeug's parameters (n = 2**15, r = 8, p = 1;
    # about 0.1 s of one core per hash or check). A stored hash names its own method and parameters, so a change
    # here never stops an old password from working.
    PASSWORD_HASH = "scrypt"

    SQLALCHEMY_DATABASE_URI = _env("LMS_DATABASE_URL", _sqlite_url("lms.sqlite"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLALCHEMY_RECORD_QUERIES = False

    CELERY = {
        "broker_url": _env("LMS_BROKER_URL", "sqla+" + _sqlite_url("broker.sqlite")),
        "result_backend": _env("LMS_RESULT_BACKEND", "db+" + _sqlite_url("celery-results.sqlite")),
        "task_ignore_result": True,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_serializer": "json",
        "accept_content": ["json"],
        "timezone": "Asia/Ho_Chi_Minh",
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": _transport_options(_env("LMS_BROKER_URL", "") or ""),
        # A request publishes after its commit: with the broker down it must answer fast (the sweeps send the
        # work later), not wait out kombu's default retries for every task.
        "task_publish_retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
        "beat_schedule": {
            "heartbeat": {"task": "lms.core.heartbeat", "schedule": 30.0},
            "sweep-imports": {"task": "lms.registry.sweep_imports", "schedule": 60.0},
            "sweep-completions": {"task": "courses.sweep_completions", "schedule": float(COMPLETIONS_SWEEP_SECONDS)},
            "purge-idempotency-keys": {"task": "courses.purge_idempotency_keys", "schedule": 86400.0},
            # Marks whose evaluation message was lost are re-sent after 20 s: an eligibility follows a new learning
            # record within a minute even on the embedded default.
            "sweep-titles": {"task": "titles.sweep", "schedule": float(TITLES_SWEEP_SECONDS)},
            # Nightly (Vietnam time): re-evaluate every commune-year of the year, report drift (ADR 9).
            "reconcile-titles": {"task": "titles.reconcile", "schedule": crontab(hour=1, minute=30)},
            # Indicator values follow title changes within a minute (lms/targets/tasks.py).
            "sweep-targets": {"task": "targets.sweep", "schedule": 30.0},
        },
    }

    # A form's CSRF token lasts as long as a session (a form left open over a long attendance session must still
    # submit), and no longer: a leaked token is not good forever.
    WTF_CSRF_TIME_LIMIT = int(_env("LMS_CSRF_TIME_LIMIT", str(12 * 3600)) or 0) or None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    # "Keep me logged in" lasts this long after the login with the password, whatever the cookie says (ADR 24).
    REMEMBER_COOKIE_DURATION = timedelta(days=int(_env("LMS_REMEMBER_DAYS", "14") or 14))
    # A rotating token kept on the server (ADR 30); a new name, so cookies of the former kind are simply ignored.
    REMEMBER_COOKIE_NAME = "lms_remember"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    BABEL_DEFAULT_LOCALE = "vi"
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    LANGUAGES = ("vi", "en")

    HSTS_MAX_AGE = 0  # production only: a development server on http://localhost must stay reachable
    # Number of reverse proxies in front of the app whose X-Forwarded-* headers to trust (0: none). Needed for
    # absolute URLs (the certificate's QR code) and client addresses (rate limits, audit) behind a proxy.
    PROXY_COUNT = int(_env("LMS_PROXY_COUNT", "0") or 0)

    RATELIMIT_STORAGE_URI = _env("LMS_RATELIMIT_STORAGE_URL", "memory://")
    # Rendered dashboards, their API answers and users' scopes (ADR 27). Scale-out sets LMS_CACHE_URL to a Redis
    # URL shared by every web process and worker (the roll-up's invalidation must reach them all); the embedded
    # default is a directory under instance/, which the web process and the worker on one machine both see.
    CACHE_URL = _env("LMS_CACHE_URL", "") or ""
    # On Redis, a server that cannot be reached is a miss, never an error (lms.core.cache).
    CACHE_TYPE = (
        "lms.core.cache.TolerantRedisCache" if CACHE_URL.startswith(("redis://", "rediss://")) else "FileSystemCache"
    )
    CACHE_REDIS_URL = CACHE_URL or None
    CACHE_DIR = str(INSTANCE_DIR / "cache")
    CACHE_THRESHOLD = 5000  # files kept by the embedded cache
    # Two deployments sharing one Redis database must not read each other's entries (a user's snapshot is keyed by id).
    CACHE_KEY_PREFIX = _env("LMS_CACHE_KEY_PREFIX", "lms:") or "lms:"
    CACHE_DEFAULT_TIMEOUT = 86400  # a page lives a day at most; the roll-up's generations invalidate it sooner
    # How long a user's resolved scope (assigned units and their pre-2025 predecessors) is reused across requests;
    # a change of the user's roles takes effect at once (they are part of the key), a change of the map after this.
    SCOPE_CACHE_SECONDS = int(_env("LMS_SCOPE_CACHE_SECONDS", "300") or 0)
    # How long the signed-in user's snapshot (columns, roles, scopes) may stand in for the database. Changes made
    # through the ORM (deactivation, roles, log-out) are seen at the next request; SQL typed by hand after this.
    USER_CACHE_SECONDS = int(_env("LMS_USER_CACHE_SECONDS", "30") or 0)
    # PostgreSQL: work_mem of a full titles evaluation's transaction (SET LOCAL), so the grouping of a large
    # commune's learning records sorts in memory (ADR 29). Empty: the server's setting.
    TITLES_WORK_MEM = _env("LMS_TITLES_WORK_MEM", "64MB")
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = _env("LMS_LOGIN_RATE_LIMIT", "10 per minute;50 per hour")
    # Failed log-ins per account (the e-mail typed, known or not), from any address: an attacker with many
    # addresses meets this one. Counted in RATELIMIT_STORAGE_URI, which production requires to be shared.
    LOGIN_ACCOUNT_RATE_LIMIT = _env("LMS_LOGIN_ACCOUNT_RATE_LIMIT", "10 per 15 minutes")

    # The largest request: a province office's household list (~100,000 rows) as CSV is ~10-20 MB.
    MAX_CONTENT_LENGTH = int(_env("LMS_MAX_UPLOAD_BYTES", str(32 * 1024 * 1024)) or 0)
    # Evidence scans and photos (certificates, assessments): PDF, JPEG or PNG up to this size.
    MAX_EVIDENCE_BYTES = int(_env("LMS_MAX_EVIDENCE_BYTES", str(5 * 1024 * 1024)) or 0)
    # What "trained in IT" means for the plan indicator: a standard of courses/data/it_skills.toml ("basic",
    # "advanced") or module codes that are all needed ("IU01,IU02,IU06"); empty: the data file's definition.
    IT_TRAINED_DEFINITION = _env("LMS_IT_TRAINED_DEFINITION", "") or ""
    # The largest district list a province office sends is ~100,000 rows; a registry import streams its file and
    # matches its rows in the database, so memory follows one row and the file's keys (docs/benchmarks.md).
    IMPORT_MAX_ROWS = int(_env("LMS_IMPORT_MAX_ROWS", "120000") or 0)
    # An upload holds ID numbers in clear until its job runs; one that never ran is deleted after this long.
    IMPORT_PENDING_MAX_AGE = timedelta(hours=int(_env("LMS_IMPORT_PENDING_HOURS", "24") or 24))
    # What a finished import showed — the preview's rows and the refused cells, which name people — is kept this
    # long for the officer to look back, then cleared; the counts stay (Decree 13/2023's storage limitation; ADR 57).
    IMPORT_DETAILS_KEPT = timedelta(days=int(_env("LMS_IMPORT_DETAILS_DAYS", "90") or 90))
    # What one spreadsheet may ask of the reader (lms/core/spreadsheet.py, ADR 0020): checked before parsing.
    IMPORT_MAX_BYTES = int(_env("LMS_IMPORT_MAX_BYTES", str(32 * 1024 * 1024)) or 0)
    # 120,000 rows of ten cells inflate to ~60-100 MB of sheet XML; the sheet is streamed, not held.
    IMPORT_MAX_UNCOMPRESSED_BYTES = int(_env("LMS_IMPORT_MAX_UNCOMPRESSED_BYTES", str(256 * 1024 * 1024)) or 0)
    IMPORT_MAX_COMPRESSION_RATIO = int(_env("LMS_IMPORT_MAX_COMPRESSION_RATIO", "200") or 0)
    IMPORT_MAX_ARCHIVE_ENTRIES = int(_env("LMS_IMPORT_MAX_ARCHIVE_ENTRIES", "500") or 0)
    IMPORT_MAX_COLUMNS = int(_env("LMS_IMPORT_MAX_COLUMNS", "200") or 0)
    IMPORT_MAX_CELL_CHARS = int(_env("LMS_IMPORT_MAX_CELL_CHARS", str(32 * 1024)) or 0)
    # A workbook part parsed whole into memory (shared strings, styles), inflated; the sheet itself is streamed.
    # (120,000 rows of distinct names and addresses make ~10 MB of shared strings.)
    IMPORT_MAX_PART_BYTES = int(_env("LMS_IMPORT_MAX_PART_BYTES", str(16 * 1024 * 1024)) or 0)
    # How long reading a file may take: a page that imports while the user waits (registrations, assessments,
    # the attendance sheet) answers within IMPORT_MAX_SECONDS whatever the file; a worker's registry import has
    # IMPORT_JOB_MAX_SECONDS. Memory is bounded by the limits above, not by time.
    IMPORT_MAX_SECONDS = float(_env("LMS_IMPORT_MAX_SECONDS", "10") or 0)
    IMPORT_JOB_MAX_SECONDS = float(_env("LMS_IMPORT_JOB_MAX_SECONDS", "300") or 0)
    # Who decides which title at which level (default: lms/titles/data/approvals.toml; ADR 11).
    TITLES_APPROVALS_FILE = _env("LMS_TITLES_APPROVALS_FILE", "") or None
    # Who files a unit's reports: heading, number's symbol, signature, recipients (default:
    # lms/registry/data/report_issuers.toml; ADR 22).
    REPORT_ISSUERS_FILE = _env("LMS_REPORT_ISSUERS_FILE", "") or None
    # A decision with at most this many certificates prints in the request (a few seconds); a larger one is drawn
    # by a task, with a progress page and a kept file (ADR 47).
    TITLES_PRINT_INLINE_MAX = int(_env("LMS_TITLES_PRINT_INLINE_MAX", "5") or 0)
    PAGE_SIZE = 50
    API_MAX_PAGE_SIZE = 500
    # Heartbeats older than this mean the worker (or beat) is not running.
    WORKER_HEARTBEAT_MAX_AGE = timedelta(minutes=2)
    # What a 503 (database or broker unreachable) tells clients to wait before retrying.
    RETRY_AFTER_SECONDS = _seconds("LMS_RETRY_AFTER_SECONDS", 30)
    # A class marked for completion is re-sent by the sweep after this long (its message was lost).
    COMPLETIONS_SWEEP_AGE = timedelta(seconds=COMPLETIONS_SWEEP_SECONDS)
    # A titles run in which no commune finished for this long lost messages (a killed worker): the sweep re-sends
    # its missing communes. Longer than one commune's evaluation takes.
    TITLES_STALL_AGE = timedelta(seconds=_seconds("LMS_TITLES_STALL_SECONDS", 60))
    # The queue of the workers (``celery worker --queues``) and, on RabbitMQ, its type and limits (lms/celery.py):
    # a consumer that holds a message longer than the visibility timeout is cut off and the message redelivered.
    # RabbitMQ (ADR 33): a quorum queue (replicated; it counts each message's deliveries) that drops a message
    # delivered BROKER_DELIVERY_LIMIT times — one that kills its worker every time — instead of handing it to worker
    # after worker (its work stays in the outbox for the sweeps). LMS_BROKER_QUEUE_TYPE=classic keeps a classic
    # queue: RabbitMQ refuses to redeclare a queue with another type (docs/reliability.md says how to switch).
    TASK_QUEUE = _env("LMS_TASK_QUEUE", "celery") or "celery"
    BROKER_QUEUE_TYPE = _env("LMS_BROKER_QUEUE_TYPE", "quorum") or "quorum"
    BROKER_DELIVERY_LIMIT = _seconds("LMS_BROKER_DELIVERY_LIMIT", 10)
    BROKER_CONSUMER_TIMEOUT = BROKER_VISIBILITY_TIMEOUT
    # Poison work (lms/core/work.py): a mark whose task failed is sent again after WORK_RETRY_BASE × 2^(attempts − 1)
    # and parked as failed (stuck-work page, /healthz degraded) after WORK_MAX_ATTEMPTS.
    WORK_MAX_ATTEMPTS = _seconds("LMS_WORK_MAX_ATTEMPTS", 5)
    WORK_RETRY_BASE = timedelta(seconds=_seconds("LMS_WORK_RETRY_BASE_SECONDS", 60))


class DevelopmentConfig(Config):
    pass


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    PII_KEY = "testing-pii-key"
    SQLALCHEMY_DATABASE_URI = _env("LMS_TEST_DATABASE_URL", "sqlite://")
    WTF_CSRF_ENABLED = True
    RATELIMIT_ENABLED = False
    # The same scrypt with a 32 times smaller cost: the suite creates and logs in thousands of users, and at full
    # cost their hashes took minutes of every CI run. tests/auth/test_login.py checks the other configurations keep
    # the full cost.
    PASSWORD_HASH = "scrypt:1024:8:1"
    CACHE_TYPE = "SimpleCache"  # in-process: eager tasks run in the test's process
    CELERY = {
        **Config.CELERY,
        "broker_url": "memory://",
        "result_backend": "cache+memory://",
        "task_always_eager": True,
        "task_eager_propagates": True,
    }


# What production refuses to start without: the keys of sessions, stored ID numbers and issuers' signing keys, the
# database, and the host in the issuers' identifiers (a worker signs certificates outside any request: without it
# a completion or a decision's print failed at its first credential, and the public DID pages answered 500).
PRODUCTION_REQUIRED = (
    "LMS_SECRET_KEY",
    "LMS_DATABASE_URL",
    "LMS_PII_KEY",
    "LMS_CREDENTIALS_KEY",
    "LMS_CREDENTIALS_DOMAIN",
)


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    # Browsers reach production only over HTTPS for a year after a visit (lms/core/headers.py).
    HSTS_MAX_AGE = int(_env("LMS_HSTS_MAX_AGE", str(365 * 24 * 3600)) or 0)

    @classmethod
    def validate(cls) -> None:
        missing = [name for name in PRODUCTION_REQUIRED if not _env(name)]
        if missing:
            raise ConfigError(
                "production configuration refuses to start: set " + ", ".join(missing) + " in the environment"
            )
        storage = _env("LMS_RATELIMIT_STORAGE_URL", "memory://") or "memory://"
        if storage.startswith("memory://"):
            raise ConfigError(
                "production configuration refuses to start: set LMS_RATELIMIT_STORAGE_URL to a shared store "
                "(redis://…): with memory:// every worker counts failed log-ins on its own"
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = name or _env("LMS_ENV", "development") or "development"
    try:
        config = CONFIGS[name]
    except KeyError:
        raise ConfigError(f"LMS_ENV={name!r} is not one of {', '.join(CONFIGS)}") from None
    validate = getattr(config, "validate", None)
    if validate:
        validate()
    return config
