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
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_EXPIRES = timedelta(days=1)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Europe/London"
# The beat schedule lives here and only here.
CELERY_BEAT_SCHEDULE = {
    # 03:15 every night, when nobody is signing up: sign-ups never verified within
    # UNVERIFIED_ACCOUNT_DAYS hold personal data we have no consent to keep.
    "members-purge-unverified": {
        "task": "members.tasks.purge_unverified_accounts",
        "schedule": crontab(hour=3, minute=15),
    },
    # Every minute, all day: the dispatch pipeline's safety net. Fans out dispatches
    # published while the broker was down, releases messages held for quiet hours or
    # the digest when their time comes, retries what is due, and puts back deliveries
    # whose worker died mid-send (notifications.services.dispatch_sweep).
    "notifications-dispatch-sweep": {
        "task": "notifications.tasks.dispatch_sweep",
        "schedule": 60.0,
        # A sweep still queued when the next is due is dropped: the next one does its work.
        "options": {"expires": 55},
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

# --- alerts

# --- replies

# --- surveys

# --- cameras

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # Django's own loggers go to the root handler only (not twice).
    "loggers": {"django": {"handlers": [], "propagate": True}},
}
