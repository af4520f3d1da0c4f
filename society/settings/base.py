"""Settings shared by every environment, read from the process environment.

Every variable documented in README.md is read here or in the modules beside it that this one imports.
"""

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .logs import logging_config
from .schedule import BEAT_SCHEDULE
from .storage import media_origins, s3_storages

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        # Refuse to start: a guessable key would let anyone forge sessions and signed links.
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "local-development-only-key-never-used-in-production-0123456789"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
SITE_URL = env.str("SITE_URL", default="http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.sitemaps",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.orcid",
    "django_countries",
    "pgtrigger",
    "simple_history",
    "csp",
    "society",
    "members",
    "guidelines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "society.middleware.LanguageMiddleware",
    # After the language is known, before the session, CSRF and auth work a cached public page never needs.
    "society.page_cache.PublicPageCacheMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "society.middleware.MemberLanguageMiddleware",
    # After auth and locale, so its 400 page is the site's page in the reader's language; before every view.
    "society.middleware.MalformedInputMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "members.middleware.StaffAdminGateMiddleware",
    "members.middleware.RenewOnlyMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
]

ROOT_URLCONF = "society.urls"
WSGI_APPLICATION = "society.wsgi.application"
SITE_ID = 1

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "society.context_processors.site",
            ],
        },
    },
]

# Forms render Django's own widget templates through Jinja2 (society/forms.py) and the others through TEMPLATES, so
# templates/admin/widgets/ can fix the admin's (labels for split date/time fields).
FORM_RENDERER = "society.forms.FormRenderer"

# --- Database -------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/society"),
}
# Persistent connections, checked before reuse so a restarted Postgres costs one retry, not an error.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
# Behind PgBouncer in transaction mode (README, "Scaling") a cursor cannot outlive its transaction: set this, and
# CONN_MAX_AGE=0, so exports read in chunks without server-side cursors.
DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool("DISABLE_SERVER_SIDE_CURSORS", default=False)
# Optional streaming replica for reads marked with society.routers.replica_reads() (exports); writes: primary.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = {**DATABASES["default"], **env.db("DATABASE_REPLICA_URL")}
DATABASE_ROUTERS = ["society.routers.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and Django cache ---------------------------------
REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
# A cache error is a miss (society/cache.py). A local Redis answers in a millisecond: half a second
# is already an outage, and a page must not wait longer than that for an optimisation.
CACHES = {
    "default": {
        "BACKEND": "society.cache.FailSoftRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "society",
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }
}

# Anonymous public pages: rendered once into the cache (PAGE_CACHE=false renders every request, for the bench's
# uncached figures), and for browsers and a CDN fresh for a minute, then served stale while revalidating.
PAGE_CACHE_ENABLED = env.bool("PAGE_CACHE", default=True)
PAGE_CACHE_TIMEOUT = env.int("PAGE_CACHE_TIMEOUT", default=60 * 60)
PUBLIC_PAGE_MAX_AGE = env.int("PUBLIC_PAGE_MAX_AGE", default=60)
PUBLIC_PAGE_STALE_WHILE_REVALIDATE = env.int("PUBLIC_PAGE_STALE_WHILE_REVALIDATE", default=600)

# --- Auth -----------------------------------------------------------------
AUTH_USER_MODEL = "members.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_SIGNUP_FORM_CLASS = "members.forms.accounts.SignupForm"
# Sentence case and no placeholders (members/adapters.py).
ACCOUNT_FORMS = {
    name: f"members.adapters.{form}"
    for name, form in {
        "login": "LoginForm",
        "signup": "SignupForm",
        "add_email": "AddEmailForm",
        "change_password": "ChangePasswordForm",
        "set_password": "SetPasswordForm",
        "reset_password": "ResetPasswordForm",
        "reset_password_from_key": "ResetPasswordKeyForm",
        "reauthenticate": "ReauthenticateForm",
    }.items()
}
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# Members may verify by clicking the emailed link or by typing the code it contains (useful when
# a corporate mail scanner opens links first, or when reading email on another device).
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = env.bool("ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED", default=False)
ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED = env.bool("ACCOUNT_PASSWORD_RESET_BY_CODE_ENABLED", default=False)
ACCOUNT_EMAIL_NOTIFICATIONS = True
# A changed address only replaces the old one once the new one is verified.
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
# Login, sign-up and reset answer the same whether or not an address has an account.
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = True
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 300
ACCOUNT_LOGOUT_REDIRECT_URL = "/"
ACCOUNT_EMAIL_SUBJECT_PREFIX = ""
# allauth's default rate limits stay on (listed here to be visible); they count in the Redis cache
# shared by every web process, and an exceeded limit answers with templates/429.html.
# While Redis is down they fail open: members and staff can still sign in and sign up. Failing closed
# would turn every Redis blip into an outage of the whole member area (and lock staff out of the admin
# they need to act), while failing open only lifts a per-IP throttle for the minutes of an outage that
# /healthz/ reports (broker: down); passwords are validated for strength and staff also need TOTP.
ACCOUNT_RATE_LIMITS = {
    "login": "30/m/ip",
    "login_failed": "10/m/ip,5/300s/key",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    # A fresh renew link by email: the same per-address limit for every address, known or not.
    "renew_link": "10/m/ip,3/h/key",
    # Following a guideline without an account sends a confirmation email: the same limit for every address.
    "guideline_alert": "10/m/ip,3/h/key",
}
# Behind a proxy every request comes from the proxy's address, and those per-IP limits would be one limit for
# the whole site. Each proxy appends the address it saw to X-Forwarded-For: the client is the entry this many
# from the end. 0 ignores the header, which any client can write when no proxy of ours stands in front.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_PERIOD = 30
MFA_REAUTHENTICATION_REQUIRED = True

# Sign in with ORCID only when the society has registered a client with ORCID.
ORCID_CLIENT_ID = env.str("ORCID_CLIENT_ID", default="")
ORCID_SECRET = env.str("ORCID_SECRET", default="")
SOCIALACCOUNT_ADAPTER = "members.adapters.SocialAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "mandatory"
SOCIALACCOUNT_EMAIL_REQUIRED = True
# ORCID rarely shares an email address: always show the form that asks for one (and the name/country).
SOCIALACCOUNT_AUTO_SIGNUP = False

SOCIALACCOUNT_LOGIN_ON_GET = False
SOCIALACCOUNT_PROVIDERS = {}
if ORCID_CLIENT_ID and ORCID_SECRET:
    SOCIALACCOUNT_PROVIDERS["orcid"] = {
        # "sandbox.orcid.org" while testing against ORCID's sandbox.
        "BASE_DOMAIN": env.str("ORCID_BASE_DOMAIN", default="orcid.org"),
        "MEMBER_API": env.bool("ORCID_MEMBER_API", default=False),
        "APPS": [{"client_id": ORCID_CLIENT_ID, "secret": ORCID_SECRET, "key": ""}],
    }

# --- Internationalisation -------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("de", _("German")),
    ("pt", _("Portuguese")),
    ("zh-hans", _("Simplified Chinese")),
    ("ja", _("Japanese")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Set only by the language switcher of unprefixed (member) pages; public pages take their language from the URL.
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
# The largest file staff may upload (member CSV, edition JSON, news image): refused with a message before
# its content is parsed. The proxy in front should refuse request bodies a little above this.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", default=5 * 1024 * 1024)
# Uploads above this spill to a temporary file instead of memory, so parallel uploads cannot exhaust RAM.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Form fields without files: a long draft edition edited inline in the admin stays well within this.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# Staff exports hold personal data: never under MEDIA_ROOT, which the proxy serves to anyone.
EXPORTS_ROOT = env.path("EXPORTS_ROOT", default=BASE_DIR / "exports")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "exports": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": EXPORTS_ROOT}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# S3-compatible object storage (AWS S3, MinIO, ...) for media and exports instead of local folders, so web and
# worker replicas share no volume (society/settings/storage.py; README, "Configuration").
STORAGE_URL = env.str("STORAGE_URL", default="")
if STORAGE_URL:
    STORAGES.update(s3_storages(STORAGE_URL, media_url=env.str("S3_MEDIA_URL", default="")))
# Below this many rows an export streams straight from the changelist; at or above it a worker writes the file.
EXPORT_STREAM_MAX_ROWS = env.int("EXPORT_STREAM_MAX_ROWS", default=5000)

# --- Email ----------------------------------------------------------------
# EMAIL_URL in django-environ form, e.g. smtp://user:pass@host:587 or consolemail://.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str(
    "DEFAULT_FROM_EMAIL", default="International Society for Stem Cell Science <office@society.example>"
)
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_TIMEOUT = 30

# --- Celery ---------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks are published from web requests (after commit). With Redis down a publish must fail at once
# and leave the outbox row for the sweeper, not hold the page: one quick retry (a pooled connection may
# be stale after a Redis restart) and short socket timeouts, instead of kombu's default of retrying
# for several seconds. The worker's own reconnection loop is separate (broker_connection_max_retries).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_TIMEZONE = TIME_ZONE
# Beat must run as exactly one process (Procfile, docker-compose.yml): two would queue every job twice.
CELERY_BEAT_SCHEDULE = BEAT_SCHEDULE

# --- Security headers shared by all environments --------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# No inline script or style anywhere, no third-party origin: every asset comes from static/ (media images, with
# STORAGE_URL, from the object storage's origin).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *media_origins(STORAGES)],
        "font-src": [SELF],
        "connect-src": [SELF],
        # The join form redirects to Stripe Checkout; browsers apply form-action to that redirect too.
        "form-action": [SELF, "https://checkout.stripe.com"],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

# --- Logging: one readable line per record, on stdout (society/settings/logs.py) ---
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = logging_config(LOG_LEVEL)

# --- The society ------------------------------------------------------------
SOCIETY_NAME = env.str("SOCIETY_NAME", default="International Society for Stem Cell Science")
SOCIETY_SHORT_NAME = env.str("SOCIETY_SHORT_NAME", default="ISSCS")
# The account name authenticator apps show next to the code.
MFA_TOTP_ISSUER = SOCIETY_SHORT_NAME

# The email login is unique case-insensitively (constraint user_email_ci_unique on Lower(email)),
# which is stricter than the plain unique=True this check looks for.
SILENCED_SYSTEM_CHECKS = ["auth.W004"]

# --- Membership dues and dates --------------------------------------------
DUES_CURRENCY = env.str("DUES_CURRENCY", default="USD")
# The society's identity on invoices, receipts and credit notes (demo values; set them in production).
SOCIETY_LEGAL_NAME = env.str("SOCIETY_LEGAL_NAME", default="International Society for Stem Cell Science e.V.")
SOCIETY_ADDRESS = env.list("SOCIETY_ADDRESS", default=["Musterstraße 12", "10115 Berlin", "Germany"])
SOCIETY_TAX_IDS = env.list("SOCIETY_TAX_IDS", default=["VAT DE000000000", "Register VR 00000 B, Amtsgericht Berlin"])
# Invoices are due this many days after they are issued.
INVOICE_DUE_DAYS = env.int("INVOICE_DUE_DAYS", default=30)
RENEWAL_WINDOW_DAYS = env.int("RENEWAL_WINDOW_DAYS", default=90)
GRACE_DAYS = env.int("GRACE_DAYS", default=30)
# A Retention page computed while staff wait gives up after this long (a filtered view at 500,000 members on
# a busy database), with a message, before the web server's own timeout turns it into an error page.
RETENTION_STATEMENT_TIMEOUT_MS = env.int("RETENTION_STATEMENT_TIMEOUT_MS", default=20_000)
# How long the personal renew link in a reminder works (it also stops working once used).
RENEW_LINK_DAYS = env.int("RENEW_LINK_DAYS", default=14)

# Bank details printed on invoices for members paying by transfer (one line per entry).
SOCIETY_BANK_DETAILS = env.str(
    "SOCIETY_BANK_DETAILS",
    default=(
        "Account holder: International Society for Stem Cell Science;"
        "Bank: Example Bank, 1 Example Street, Example City;"
        "IBAN: XX00 0000 0000 0000 0000 00;"
        "BIC/SWIFT: EXAMXXXX"
    ),
).split(";")

# Card payments through Stripe Checkout are offered only when both keys are set.
STRIPE_SECRET_KEY = env.str("STRIPE_SECRET_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Where the stripe package sends API calls: Stripe itself, or a server answering like it (staging, tests).
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="https://api.stripe.com").rstrip("/")

# --- Email outbox, webhooks, announcements: society/settings/delivery.py ---
from .delivery import *  # noqa: E402, F403

ACCOUNT_ADAPTER = "members.adapters.AccountAdapter"
