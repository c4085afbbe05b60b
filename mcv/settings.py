"""
MCV settings: one module, driven by the environment.

Every setting a deployment may change is read from an environment variable; the
README lists them in a table. With no environment at all the app runs on the
zero-configuration default: SQLite, Celery tasks run eagerly in-process, emails
written to files under var/mail and viewable at /dev/mail/ while DEBUG is on.

Django settings reference: https://docs.djangoproject.com/en/6.1/ref/settings/
"""

import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
# A developer may keep their variables in a .env file beside manage.py.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
# The test suite (pytest imported) and DEBUG may run without a SECRET_KEY: a fixed
# development key is used, so `bin/start` and `bin/test` work on a fresh machine.
# Anything else refuses to start without one.
RUNNING_TESTS = "pytest" in sys.modules
SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not (DEBUG or RUNNING_TESTS):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("Set SECRET_KEY (or DEBUG=true for local development).")
    SECRET_KEY = "insecure-development-key-never-use-in-production-" + "x" * 20

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
SITE_NAME = env.str("SITE_NAME", default="My Community Voice")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    # third party
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "phonenumber_field",
    # ours
    "core",
    "members",
    "groups",
    "alerts",
    "notifications",
    "replies",
    "surveys",
    "cameras",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "members.middleware.StaffMFARequiredMiddleware",
]

ROOT_URLCONF = "mcv.urls"
WSGI_APPLICATION = "mcv.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.site",
            ],
        },
    },
]

# --- Database: https://django-environ.readthedocs.io/en/latest/types.html#environ-env-db-url
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT compiler is for long analytical queries. Ours are index lookups of
    # a few milliseconds whose cost estimate sometimes crosses jit_above_cost: measured on
    # the camera search (bench/cameras.py, 1M cameras), JIT put a tail of up to 1.8 s on a
    # 7 ms query; off, p95 fell from 36 ms to about 10 ms. DATABASE_JIT=true turns it back on.
    if not env.bool("DATABASE_JIT", default=False):
        _options = DATABASES["default"].setdefault("OPTIONS", {})
        _options["options"] = " ".join(filter(None, [_options.get("options", ""), "-c jit=off"]))
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The zero-configuration default has two processes writing: the web server and, under
    # bin/start, Celery beat running the periodic jobs in-process. WAL lets reads go on
    # while one writes; IMMEDIATE takes the write lock when a transaction starts (no
    # "database is locked" halfway through one); the timeout waits for the other's commit.
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options.setdefault("transaction_mode", "IMMEDIATE")
    _options.setdefault("timeout", 20)
    _options.setdefault("init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: broker for Celery and the shared cache (rate limits must hold across
# web processes, so production needs it).
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mcv"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
# Without REDIS_URL tasks run eagerly in the web process (the zero-configuration default).
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
# Every task's work is written in the database and moved forward by status (see
# notifications/services.py), so running a task twice is harmless but losing one is
# not. Hence "at least once":
# * acks_late: a message leaves the queue when its task has finished, not when a
#   worker picked it up, so a worker killed mid-task (SIGKILL, OOM, a lost machine)
#   does not take the message with it;
CELERY_TASK_ACKS_LATE = True
# * reject_on_worker_lost: when a pool process dies mid-task the message is put
#   back on the queue instead of being acknowledged as failed;
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# * prefetch 1, and no prefetching at all on Redis: a worker holds only the messages
#   it is running. A send_batch held in a worker's buffer while another task runs
#   waits for nothing, and is not among what a killed worker leaves to the sweep.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_DISABLE_PREFETCH = True
# * a time limit on every task, well under the visibility timeout below: a stuck
#   SMTP conversation ends the task (its rows go back in line through the sweep)
#   rather than holding a worker for ever. A batch of 500 takes seconds; a fan-out
#   to a million members under a minute.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Redis hands an unacknowledged message to another worker after this long. It
    # must be longer than any task (the time limit above) and any countdown we use
    # (at most a minute, when a channel's rate limit is reached), or a task still
    # running would be started a second time. A message whose worker was killed
    # outright comes back after it; the sweep (DISPATCH_STUCK_AFTER_SECONDS) does not
    # wait that long for the deliveries themselves.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=2 * 60 * 60),
    # Publishing happens after the commit of a web request: with Redis unreachable it
    # must give up quickly (the sweep queues the work later), not hang the request.
    # Connecting to a live Redis takes milliseconds, so a second is generous.
    "socket_connect_timeout": env.float("CELERY_BROKER_CONNECT_TIMEOUT", default=1.0),
    # A Redis that vanished without closing the connection (failover, a firewall
    # dropping it) would otherwise leave a publish waiting for ever.
    "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=10.0),
}
# A publish is tried 3 times within about half a second, then fails (and is logged:
# mcv.celery.Task). Celery's default retries for longer.
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.3}
# The result backend would otherwise retry for 20 s before a `.delay()` gives up.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
}
# A worker whose broker went away keeps trying to reconnect for as long as it takes
# (Celery's default gives up after 100 tries, leaving a live process doing nothing).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
# When the connection drops, a running task finishes (its rows record what it did);
# its message, unacknowledged, comes back and the re-run finds nothing left to do.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
# The sweep has a queue of its own, which every worker also consumes (Redis takes from
# each queue in turn): behind a backlog of a million recipients' batches in the main
# queue it would otherwise wait its turn, and the deliveries of a dead worker with it.
CELERY_TASK_QUEUES = {"celery": {}, "dispatch-sweep": {}}
CELERY_TASK_ROUTES = {"notifications.tasks.dispatch_sweep": {"queue": "dispatch-sweep"}}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Europe/London"
# How often beat runs the dispatch pipeline's safety net (below).
DISPATCH_SWEEP_SECONDS = env.float("DISPATCH_SWEEP_SECONDS", default=60.0)
# The beat schedule lives here and only here.
CELERY_BEAT_SCHEDULE = {
    # 03:15 every night, when nobody is signing up: sign-ups never verified within
    # UNVERIFIED_ACCOUNT_DAYS hold personal data we have no consent to keep.
    "members-purge-unverified": {
        "task": "members.tasks.purge_unverified_accounts",
        "schedule": crontab(hour=3, minute=15),
    },
    # Every minute, all day: the dispatch pipeline's safety net. Fans out dispatches
    # published while the broker was down, releases messages held for quiet hours
    # when their time comes, retries what is due, and puts back deliveries
    # whose worker died mid-send (notifications.services.dispatch_sweep).
    "notifications-dispatch-sweep": {
        "task": "notifications.tasks.dispatch_sweep",
        # DISPATCH_SWEEP_SECONDS: a minute in production; the reliability tests set a
        # few seconds so that a real beat does the recovery while they watch.
        "schedule": float(DISPATCH_SWEEP_SECONDS),
        # A sweep still queued when the next is due is dropped: the next one does its work.
        "options": {"expires": max(1.0, DISPATCH_SWEEP_SECONDS - 5)},
    },
}
UNVERIFIED_ACCOUNT_DAYS = env.int("UNVERIFIED_ACCOUNT_DAYS", default=7)

# --- Auth: https://docs.allauth.org/en/latest/account/configuration.html
AUTH_USER_MODEL = "members.Member"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.ScryptPasswordHasher",
    ],
)
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "members.forms.SignupForm"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_CHANGE = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if not DEBUG else "http"
ACCOUNT_SESSION_REMEMBER = None
# allauth's limits, tightened for signup: a public-sector service is a target.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/5m/key",
    "signup": "10/m/ip,50/h/ip",
    "reset_password": "10/m/ip,3/m/key",
    "reset_password_from_key": "20/m/ip",
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_ADAPTER = "members.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_RECOVERY_CODE_COUNT = 10

# --- Email: https://docs.djangoproject.com/en/6.1/topics/email/ (Django 6.1's MAILERS)
# EMAIL_URL picks the backend: smtp://user:pass@host:587 (smtp+tls://, smtp+ssl://),
# consolemail://, filemail:///path. Without it, emails are written as files under
# EMAIL_FILE_PATH (var/mail), viewable at /dev/mail/ while DEBUG is on.
MAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))
_EMAIL_OPTIONS = {
    "EMAIL_HOST": "host",
    "EMAIL_PORT": "port",
    "EMAIL_HOST_USER": "username",
    "EMAIL_HOST_PASSWORD": "password",
    "EMAIL_USE_TLS": "use_tls",
    "EMAIL_USE_SSL": "use_ssl",
    "EMAIL_FILE_PATH": "file_path",
}


def _mailer(url: str | None) -> dict:
    if not url:
        return {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": MAIL_FILE_PATH},
        }
    config = environ.Env.email_url_config(url)
    options = {opt: config[key] for key, opt in _EMAIL_OPTIONS.items() if config.get(key) not in (None, "")}
    if config["EMAIL_BACKEND"].endswith("smtp.EmailBackend"):
        options["timeout"] = env.int("EMAIL_TIMEOUT", default=20)
    if config["EMAIL_BACKEND"].endswith("filebased.EmailBackend"):
        options = {"file_path": options.get("file_path") or MAIL_FILE_PATH}
    else:
        options.pop("file_path", None)
    return {"BACKEND": config["EMAIL_BACKEND"], "OPTIONS": options}


MAILERS = {"default": _mailer(env.str("EMAIL_URL", default=""))}
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"{SITE_NAME} <no-reply@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# --- Messages to residents (the dispatch pipeline, notifications/): see docs/architecture.md.
# Deliveries per send_batch task: big enough that task overhead is noise, small enough
# that a killed worker re-sends little.
DISPATCH_BATCH_SIZE = env.int("DISPATCH_BATCH_SIZE", default=500)
# A temporary failure is tried again after DISPATCH_RETRY_BASE_SECONDS, doubling (at
# most an hour apart), until DISPATCH_MAX_ATTEMPTS; then the delivery has failed.
DISPATCH_MAX_ATTEMPTS = env.int("DISPATCH_MAX_ATTEMPTS", default=8)
DISPATCH_RETRY_BASE_SECONDS = env.int("DISPATCH_RETRY_BASE_SECONDS", default=60)
# Which MAILERS entry sends alerts (a bulk provider may differ from account mail).
DISPATCH_MAILER = env.str("DISPATCH_MAILER", default="default")
# When (UK clock, HH:MM) daily-digest members get what was held for them.
DISPATCH_DIGEST_TIME = env.str("DISPATCH_DIGEST_TIME", default="18:00")
# SMS: the console backend logs texts; GOV.UK Notify sends them
# (https://docs.notifications.service.gov.uk/python.html): set
# SMS_BACKEND=notifications.channels.NotifySMSBackend, NOTIFY_API_KEY and
# NOTIFY_SMS_TEMPLATE_ID (a Notify text template whose content is just ((body))).
SMS_BACKEND = env.str("SMS_BACKEND", default="notifications.channels.ConsoleSMSBackend")
NOTIFY_API_KEY = env.str("NOTIFY_API_KEY", default="")
NOTIFY_SMS_TEMPLATE_ID = env.str("NOTIFY_SMS_TEMPLATE_ID", default="")
# Longest text message sent (306: two fragments); the body is cut to fit, the link kept.
SMS_MAX_CHARS = env.int("SMS_MAX_CHARS", default=306)

# --- REST API: https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["members.permissions.IsAuthenticatedWithRequiredMFA"],
    "DEFAULT_SCHEMA_CLASS": "mcv.schema.AutoSchema",
    # JSON only: nested objects (preferences) do not survive form encodings.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_THROTTLE_ANON", default="60/min"),
        "user": env.str("API_THROTTLE_USER", default="600/min"),
    },
    "EXCEPTION_HANDLER": "mcv.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MCV API",
    "DESCRIPTION": (
        "The REST API of My Community Voice. Authenticate with a session (the web app) or a "
        "token (`Authorization: Token <key>`, created on the account page)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "MemberRoleEnum": "members.models.Member.Role",
        "GroupRoleEnum": "groups.models.Membership.Role",
    },
}

# --- Internationalisation
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
PHONENUMBER_DEFAULT_REGION = "GB"

# --- Static files: served by the app itself through WhiteNoise, never from a CDN.
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Hashed names need `collectstatic`, which development and tests do without.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or RUNNING_TESTS
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG or RUNNING_TESTS
WHITENOISE_AUTOREFRESH = DEBUG or RUNNING_TESTS
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"

# --- Maps: Leaflet is served from our own static files. Map tiles come from MAP_TILE_URL
# if it is set (a Leaflet URL template, e.g. https://tile.example.org/{z}/{x}/{y}.png, with
# MAP_TILE_ATTRIBUTION as its credit line); without it, maps draw areas and pins on a plain
# background and no request leaves the site. https://leafletjs.com/reference.html#tilelayer
MAP_TILE_URL = env.str("MAP_TILE_URL", default="")
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="")


def map_tile_origin(url: str) -> str:
    """The origin CSP must allow images from for a tile URL template ({s} subdomains: a wildcard)."""
    parts = urlsplit(url.replace("{s}", "*"))
    return f"{parts.scheme}://{parts.netloc}"


# --- Security: https://docs.djangoproject.com/en/6.1/ref/csp/
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
if MAP_TILE_URL:
    SECURE_CSP["img-src"].append(map_tile_origin(MAP_TILE_URL))
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not (DEBUG or RUNNING_TESTS))
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- MCV itself
# Signed links to a member's settings (in every message) stay valid this long.
PREFERENCES_LINK_MAX_AGE = timedelta(days=env.int("PREFERENCES_LINK_DAYS", default=365))
# /dev/mail/ shows the emails written to EMAIL_FILE_PATH; only ever with DEBUG on.
DEV_MAILBOX = DEBUG and MAILERS["default"]["BACKEND"].endswith("filebased.EmailBackend")

# --- each app's own settings (one section per app; a setting read from the
# environment is also listed in the README's configuration table)

# --- notifications: web push, rate limits, digests
# The sweep's clocks (notifications.services.dispatch_sweep). A dispatch still pending
# this long after publishing missed its task (the broker was down): fan it out.
DISPATCH_PENDING_GRACE_SECONDS = env.int("DISPATCH_PENDING_GRACE_SECONDS", default=60)
# A delivery in `sending` this long belongs to a worker that died: send it again
# (same Message-ID). Longer than any batch takes, or a live worker's rows go twice.
DISPATCH_STUCK_AFTER_SECONDS = env.int("DISPATCH_STUCK_AFTER_SECONDS", default=15 * 60)
# A pending delivery queued this long ago lost its batch task: queue it again. Longer
# than a big fan-out takes to drain, so a backlog is not queued twice every minute.
DISPATCH_REQUEUE_AFTER_SECONDS = env.int("DISPATCH_REQUEUE_AFTER_SECONDS", default=10 * 60)
# Messages per minute each channel may send, across all workers (held in Redis;
# notifications/ratelimit.py), e.g. CHANNEL_RATE_LIMITS=sms=3000,email=12000. GOV.UK
# Notify allows 3,000 a minute per service by default. A channel not listed is unlimited.
CHANNEL_RATE_LIMITS = {
    channel.strip(): int(limit)  # a typo fails at start-up, not at the first text message
    for channel, _, limit in (item.partition("=") for item in env.list("CHANNEL_RATE_LIMITS", default=["sms=3000"]))
}
# A batch that would wait longer than this for its channel's limit stops, puts its
# remaining deliveries back and queues itself again for when there is room.
DISPATCH_RATE_LIMIT_MAX_WAIT_SECONDS = env.float("DISPATCH_RATE_LIMIT_MAX_WAIT_SECONDS", default=5.0)

# Web push (notifications/push.py): a VAPID key pair (RFC 8292) signs every push, so
# push services know the messages come from us. `manage.py vapid_keys` makes one.
# Without VAPID_PRIVATE_KEY web push is off: the preferences page says so and nobody
# gets push deliveries. VAPID_PUBLIC_KEY is the browser's applicationServerKey; it
# may be left empty (it is derived from the private key) and is checked against it.
VAPID_PRIVATE_KEY = env.str("VAPID_PRIVATE_KEY", default="")
VAPID_PUBLIC_KEY = env.str("VAPID_PUBLIC_KEY", default="")
# Who push services contact about our traffic; Apple refuses pushes without a real one.
VAPID_SUBJECT = env.str("VAPID_SUBJECT", default="") or "mailto:" + DEFAULT_FROM_EMAIL.rpartition("<")[2].rstrip(">")
# How long a push service keeps a notification for a phone that is off or offline.
PUSH_TTL_SECONDS = env.int("PUSH_TTL_SECONDS", default=24 * 60 * 60)
# A browser whose push service has refused this many pushes in a row (403 after the
# site's VAPID keys changed, 400 for a broken subscription…) and took none for a week is
# forgotten, as one that answered 404/410 is at once: it would be tried forever.
PUSH_FORGET_AFTER_REFUSALS = env.int("PUSH_FORGET_AFTER_REFUSALS", default=10)
# The push services browsers subscribe with (host names; subdomains included). The
# server POSTs to a subscription's endpoint, so only these are accepted: a resident
# cannot make it call an address of their choosing.
PUSH_SERVICE_HOSTS = env.list(
    "PUSH_SERVICE_HOSTS",
    default=[
        "fcm.googleapis.com",  # Chrome, Edge, Opera, Samsung Internet, Brave
        "android.googleapis.com",  # older Chrome subscriptions
        "push.services.mozilla.com",  # Firefox
        "push.apple.com",  # Safari on macOS and iOS
        "notify.windows.com",  # older Edge
    ],
)
# Daily digests (notifications/digest.py): at DISPATCH_DIGEST_TIME (UK clock) each
# daily-digest member gets ONE email listing what was held for them since the last one.
_digest_hour, _digest_minute = (int(part) for part in DISPATCH_DIGEST_TIME.split(":"))
CELERY_BEAT_SCHEDULE["notifications-daily-digest"] = {
    "task": "notifications.tasks.digest_run",
    "schedule": crontab(hour=_digest_hour, minute=_digest_minute),
    "options": {"expires": 50 * 60},
}
# Every ten minutes: the digest's safety net. Picks up digests a dead worker left
# half-sent (same Message-ID), retries the ones that failed for a while, and sends
# late when beat was down at digest time. Finds nothing to do on an ordinary day.
CELERY_BEAT_SCHEDULE["notifications-digest-resume"] = {
    "task": "notifications.tasks.digest_run",
    "schedule": crontab(minute="5-59/10"),  # not on the hour: the digest time itself is the daily entry's
    "options": {"expires": 9 * 60},
}

# --- alerts
# Largest picture an officer may attach to an alert, in bytes (5 MB).
ALERT_IMAGE_MAX_BYTES = env.int("ALERT_IMAGE_MAX_BYTES", default=5 * 1024 * 1024)
# How many messages a coordinator may send their group in 24 hours.
ALERT_GROUP_MESSAGES_PER_DAY = env.int("ALERT_GROUP_MESSAGES_PER_DAY", default=5)
# The alerts API's choice sets by name in the OpenAPI schema (drf-spectacular would
# otherwise number the several "kind" and "status" enums of the project's apps).
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "AlertKindEnum": "alerts.models.Alert.Kind",
        "AlertStatusEnum": "alerts.models.Alert.Status",
        "AlertUpdateKindEnum": "alerts.models.AlertUpdate.Kind",
        "InterestEnum": "members.models.Interest",
    }
)
# Every minute, all day: scheduled alerts whose time has come are marked published (their
# dispatches go out with the dispatch sweep in the same minute), so the officer's list and the
# public pages show them as out (alerts.services.alerts_release_scheduled).
CELERY_BEAT_SCHEDULE["alerts-release-scheduled"] = {
    "task": "alerts.tasks.release_scheduled",
    "schedule": 60.0,
    "options": {"expires": 55},
}

# --- replies
# Which messages residents may answer privately, by the dispatch's source
# ("app_label.model"): alerts, appeals, news and events. Survey invitations, footage
# requests and the pipeline's own notices are not conversations.
REPLY_SOURCE_TYPES = env.list("REPLY_SOURCE_TYPES", default=["alerts.alert"])
# Words and phrases that make a reply urgent (whole words, any case) and email the
# organisation's duty inbox at once. Each force admin may replace the list for their
# organisation on /replies/settings/; this is the list until they do.
REPLY_TRIGGER_WORDS = env.list(
    "REPLY_TRIGGER_WORDS",
    default=[
        "knife", "knives", "blade", "machete", "gun", "guns", "firearm", "shotgun", "weapon", "weapons", "stabbed",
        "stabbing", "acid attack", "bomb", "hostage", "kidnapped", "suicide", "suicidal", "kill myself",
        "killing myself", "end my life", "take my own life", "want to die", "self harm", "self-harm", "overdose",
        "overdosed", "being abused", "he hits me", "she hits me",
    ],
)
# An open thread waiting this many days for an answer reminds its assignee (or the
# duty inbox), then again every as many days while it still waits.
REPLY_REMINDER_DAYS = env.int("REPLY_REMINDER_DAYS", default=3)
# A resident may send at most this many replies an hour (all threads together).
REPLY_MAX_PER_HOUR = env.int("REPLY_MAX_PER_HOUR", default=20)
# Every hour at a quarter past: remind officers of threads left waiting
# REPLY_REMINDER_DAYS (replies.services.threads_remind_unclosed; records reminded_at,
# so a rerun or a late beat sends nothing twice).
CELERY_BEAT_SCHEDULE["replies-remind-unclosed"] = {
    "task": "replies.tasks.remind_unclosed",
    "schedule": crontab(minute=15),
    "options": {"expires": 50 * 60},
}
# Every minute: the safety net of urgent escalations. The email to the duty inbox is
# queued when the reply commits; if the broker was down then, this sends it.
CELERY_BEAT_SCHEDULE["replies-escalation-sweep"] = {
    "task": "replies.tasks.escalation_sweep",
    "schedule": 60.0,
    "options": {"expires": 55},
}
# A thread's status (open/closed) is its own enum in the API schema, not another "status".
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["ReplyThreadStatusEnum"] = "replies.models.Thread.Status"

# --- surveys
# A ward or district where fewer residents than this answered is not shown on its own
# (results breakdowns, area filters, anonymous exports): small numbers identify people.
SURVEY_MIN_CELL = env.int("SURVEY_MIN_CELL", default=5)
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "SurveyStatusEnum": "surveys.models.Survey.Status",
        "SurveyQuestionKindEnum": "surveys.models.Question.Kind",
        "SurveyResultsVisibilityEnum": "surveys.models.Survey.ResultsVisibility",
    }
)

# --- cameras
# Evidence (footage owners upload) is kept in the "evidence" storage, never served as
# a public file: every download goes through a view that checks who asks and writes
# the chain-of-custody log (cameras/views.py). Local files by default, under
# CAMERA_EVIDENCE_ROOT (outside MEDIA_ROOT); CAMERA_EVIDENCE_STORAGE=s3 keeps it in an
# S3-compatible bucket through django-storages
# (https://django-storages.readthedocs.io/en/latest/backends/amazon-S3.html), private,
# reached with signed URLs only by the app itself.
CAMERA_UPLOAD_MAX_BYTES = env.int("CAMERA_UPLOAD_MAX_BYTES", default=2 * 1024**3)
# Where an upload is streamed while it arrives (hashed on the way), before its type is
# checked and it moves to the evidence storage. Blank: the system's temporary folder.
# Point it at a disk if /tmp is a RAM disk: uploads are never to be held in memory.
CAMERA_UPLOAD_TEMP_DIR = env.str("CAMERA_UPLOAD_TEMP_DIR", default="") or None
if env.str("CAMERA_EVIDENCE_STORAGE", default="filesystem") == "s3":
    STORAGES["evidence"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("CAMERA_EVIDENCE_S3_BUCKET"),
            "endpoint_url": env.str("CAMERA_EVIDENCE_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("CAMERA_EVIDENCE_S3_REGION", default="") or None,
            "access_key": env.str("CAMERA_EVIDENCE_S3_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("CAMERA_EVIDENCE_S3_SECRET_ACCESS_KEY", default="") or None,
            "location": env.str("CAMERA_EVIDENCE_S3_PREFIX", default="evidence"),
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    import tempfile

    # Tests never write into var/: their evidence goes to the system's temporary folder.
    _evidence_default = Path(tempfile.gettempdir()) / "mcv-test-evidence" if RUNNING_TESTS else VAR_DIR / "evidence"
    STORAGES["evidence"] = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.str("CAMERA_EVIDENCE_ROOT", default=str(_evidence_default)),
            "base_url": None,
            "file_permissions_mode": 0o640,
            "directory_permissions_mode": 0o750,
        },
    }
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "CameraKindEnum": "cameras.models.Camera.Kind",
        "CameraPlacementEnum": "cameras.models.Camera.Placement",
        "FootageAskStatusEnum": "cameras.models.FootageAsk.Status",
        "CustodyActionEnum": "cameras.models.CustodyEntry.Action",
    }
)
# An officer's search: at most this radius, this many cameras listed (nearest first).
CAMERA_SEARCH_MAX_METRES = env.int("CAMERA_SEARCH_MAX_METRES", default=5000)
CAMERA_SEARCH_MAX_RESULTS = env.int("CAMERA_SEARCH_MAX_RESULTS", default=500)
# A dashcam moves with its owner's car: it is found by where its owner lives. A search
# reaches dashcams whose owners live up to this much beyond its radius (0: the same
# radius as every other camera; each 500 m more finds several times as many dashcams).
CAMERA_DASHCAM_HOME_METRES = env.int("CAMERA_DASHCAM_HOME_METRES", default=0)
# Owners are asked once a year whether they still have their cameras; a camera not
# confirmed within the year plus the grace period drops out of officers' searches.
CAMERA_CONFIRM_AFTER_DAYS = env.int("CAMERA_CONFIRM_AFTER_DAYS", default=365)
CAMERA_CONFIRM_GRACE_DAYS = env.int("CAMERA_CONFIRM_GRACE_DAYS", default=30)
# 10:30 every day, when people read their email: owners whose cameras were last
# confirmed over a year ago are asked, once, whether they still have them.
CELERY_BEAT_SCHEDULE["cameras-ask-confirmation"] = {
    "task": "cameras.tasks.camera_confirmations_request",
    "schedule": crontab(hour=10, minute=30),
}
# 02:45 every night: a camera "at my home" (and every dashcam) follows its owner when
# they move, so searches find it where they live now.
CELERY_BEAT_SCHEDULE["cameras-follow-homes"] = {
    "task": "cameras.tasks.cameras_follow_homes",
    "schedule": crontab(hour=2, minute=45),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own loggers go to the root handler only (not twice).
    "loggers": {"django": {"handlers": [], "propagate": True}},
}
