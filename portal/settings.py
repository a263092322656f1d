"""Django settings of the practice portal ("Mijn Spiegel", ../shared/spec/portal.md).

The one module that reads the portal's environment. Every setting an operator may
change is an environment variable (README, "The practice portal"):

- ``SPIEGEL_DATA_DIR``: the platform's data directory; the portal reads
  ``<data dir>/releases/`` (read-only) and keeps its own SQLite database under
  ``<data dir>/portal/`` unless a database URL is given.
- ``SPIEGEL_PORTAL_DATABASE_URL``: e.g. ``postgres://user:pw@host/db`` (or
  ``postgres:///db?host=/socket/dir``) to run on PostgreSQL instead of SQLite.
- ``SPIEGEL_PORTAL_SECRET_KEY``: set it when more than one machine serves the portal; a
  key is generated once and kept (owner-only) under the data directory otherwise. With
  ``SPIEGEL_PORTAL_DEBUG`` off a configured key that is short, repetitive or the example's
  placeholder is refused at start-up (docs/security.md, V14).
- ``SPIEGEL_PORTAL_PASSWORD_PEPPER``: the secret mixed into every password hash (HMAC-SHA256
  before PBKDF2, ``portal/access/passwords.py``; ASVS 2.4.5); at least 32 characters. Without
  it one is generated once into ``<data dir>/portal/password_pepper`` (owner-only). Losing it
  makes every password unusable (a reset by mail still works): keep it with the backups.
- ``SPIEGEL_PORTAL_MFA_KEY``: the Fernet key (or comma-separated keys, the first encrypts) that
  encrypts the TOTP secrets and recovery-code seeds in the database
  (``portal/access/mfa_adapter.py``; ASVS 2.6.3, 2.8.2). Without it one is generated once
  into ``<data dir>/portal/mfa_key`` (owner-only).
- Any of these can instead be a systemd credential of the same name (encrypted at rest; the
  credential wins): ``orchestration/core/credentials.py``, docs/service.md.
- ``SPIEGEL_PORTAL_ALLOWED_HOSTS``: comma-separated host names (default localhost).
- ``SPIEGEL_PORTAL_EMAIL_HOST`` (+ ``_PORT``, ``_USER``, ``_PASSWORD``, ``_TLS``):
  SMTP; without it mail is written to files under ``<data dir>/portal/mail/``.
- ``SPIEGEL_PORTAL_FROM_EMAIL``: the sender address.
- ``SPIEGEL_PORTAL_TRUSTED_PROXIES`` (default 0): how many reverse proxies in front of
  the portal append to ``X-Forwarded-For``; the client's address is read from it only
  that far (login throttling, the contact form's limits), ``portal/access/client_ip.py``.
- ``SPIEGEL_PORTAL_RETENTION_LOGIN_DAYS`` (90), ``_CONTACT_DAYS`` (365), ``_SIGNUP_DAYS`` (7): how
  long django-axes' login records, contact messages and sign-ups whose address was never
  confirmed are kept; ``spiegel portal purge-expired`` deletes what is older (daily:
  deploy/spiegel-portal-purge.timer), with the expired sessions. The privacy statement
  (/privacy/) shows these periods (portal/access/retention.py).
- ``SPIEGEL_API_RATE`` (default ``120/minute``): requests a token (or a logged-in
  account, or an anonymous address) may make to the read API; the next one gets 429.
  The counters live in the cache (``<data dir>/portal/cache/``), shared by the workers.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from orchestration.core import credentials

BASE_DIR = Path(__file__).resolve().parent
# systemd's decrypted credentials become the environment variables they are named after
# (when the portal runs without the `spiegel` command, e.g. manage.py)
credentials.load_into_environment()


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(_env("SPIEGEL_DATA_DIR", "data")).resolve()
RELEASES_DIR = DATA_DIR / "releases"
PORTAL_DIR = DATA_DIR / "portal"
MAIL_DIR = PORTAL_DIR / "mail"


def _weak_secret_key(key: str) -> bool:
    """Django's own test of a production key (``check --deploy``, security.W009), plus the
    placeholder of deploy/spiegel.env.example: a key copied from an example is no secret."""
    return len(key) < 50 or len(set(key)) < 5 or key.startswith(("django-insecure", "CHANGE-ME"))


def _kept_secret(name: str, make) -> str:
    """The secret in ``<data dir>/portal/<name>``, made by ``make()`` and written there
    owner-only (0600) the first time. Written to a temporary file and linked into place, so
    that two processes starting at once (gunicorn's workers) end up with the same secret."""
    key_file = PORTAL_DIR / name
    try:
        return key_file.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    PORTAL_DIR.mkdir(parents=True, exist_ok=True)
    value = make()
    draft = PORTAL_DIR / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(value)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(draft, key_file)
        except FileExistsError:  # another process was first: its secret counts
            return key_file.read_text(encoding="utf-8").strip()
    finally:
        draft.unlink(missing_ok=True)
    return value


def _secret_key() -> str:
    """The configured key, else one generated once and kept (owner-only) under the data directory."""
    configured = _env("SPIEGEL_PORTAL_SECRET_KEY")
    if configured:
        if _weak_secret_key(configured) and not _env_bool("SPIEGEL_PORTAL_DEBUG", False):
            raise ImproperlyConfigured(
                "SPIEGEL_PORTAL_SECRET_KEY is too weak (under 50 characters, repetitive, or an example's "
                "placeholder): set 50 or more random characters, or unset it to have one generated"
            )
        return configured
    return _kept_secret("secret_key", lambda: secrets.token_urlsafe(50))


def _password_pepper() -> str:
    """ASVS 2.4.5: the secret salt of every password hash, never stored in the database."""
    configured = _env("SPIEGEL_PORTAL_PASSWORD_PEPPER")
    if configured:
        if (len(configured) < 32 or len(set(configured)) < 5 or configured.startswith("CHANGE-ME")) and not _env_bool(
            "SPIEGEL_PORTAL_DEBUG", False
        ):
            raise ImproperlyConfigured(
                "SPIEGEL_PORTAL_PASSWORD_PEPPER is too weak (under 32 characters, repetitive, or an example's "
                "placeholder): set 32 or more random characters, or unset it to have one generated"
            )
        return configured
    return _kept_secret("password_pepper", lambda: secrets.token_urlsafe(32))  # 256 bits


def _mfa_keys() -> list[str]:
    """ASVS 2.6.3/2.8.2: the Fernet keys of the second factors' secrets (the first encrypts)."""
    from cryptography.fernet import Fernet

    configured = _env("SPIEGEL_PORTAL_MFA_KEY")
    if configured:
        keys = [k.strip() for k in configured.split(",") if k.strip()]
    else:
        keys = [_kept_secret("mfa_key", lambda: Fernet.generate_key().decode("ascii"))]
    for number, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            source = "SPIEGEL_PORTAL_MFA_KEY" if configured else str(PORTAL_DIR / "mfa_key")
            raise ImproperlyConfigured(
                f"{source}: key {number} is not a Fernet key (32 bytes, url-safe base64: make one with "
                '`python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"`)'
            ) from None
    return keys


SECRET_KEY = _secret_key()
# kept apart from the database (environment or an owner-only file): who reads the database alone
# can neither test guesses against the password hashes nor read a second factor's secret
PASSWORD_PEPPER = _password_pepper()
MFA_ENCRYPTION_KEYS = _mfa_keys()
DEBUG = _env_bool("SPIEGEL_PORTAL_DEBUG", False)
ALLOWED_HOSTS = [
    h.strip()
    for h in _env("SPIEGEL_PORTAL_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in _env("SPIEGEL_PORTAL_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    # the operators' second factor (TOTP, with recovery codes): docs/release-four-eyes.md
    "allauth.mfa",
    # an account's active sessions, listed and ended at /accounts/sessions/ (ASVS 3.3.4)
    "allauth.usersessions",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "portal.access",
    "portal.releases",
    "portal.public",
    "portal.insurers",
    "portal.api",
    "portal.operators",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # before WhiteNoise, so that the static files carry the headers too (portal/headers.py)
    "portal.headers.SecurityHeadersMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.access.sessions.SessionTimeoutMiddleware",
    # allauth.usersessions' record of the session (address, browser, last use), at most once a minute
    "portal.access.sessions.ActiveSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # a session whose password the rules now refuse goes to the password change page (ASVS 2.1.7)
    "portal.access.password_renewal.PasswordRenewalMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # axes last: it reads the outcome of authentication
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_database_url = _env("SPIEGEL_PORTAL_DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    PORTAL_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": PORTAL_DIR / "portal.sqlite3",
            # several gunicorn workers write the audit log: wait for the lock instead of failing;
            # write-ahead logging lets readers go on while one writes, and a commit need not
            # wait for the disk twice (every API call and download writes an audit line)
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
# slow hashes only (PBKDF2, Argon2/scrypt-free: no extra C deps). The first makes every new hash:
# HMAC-SHA256 with PASSWORD_PEPPER, then Django's PBKDF2 (ASVS 2.4.5); a plain PBKDF2 hash of
# before still verifies and is replaced by a peppered one at the next login
PASSWORD_HASHERS = [
    "portal.access.passwords.PepperedPBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # ASVS 2.1.1/2.1.2: at least 12 characters, at most 128; no rules on the kinds of character
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "portal.access.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
    # ASVS 2.1.9: no NumericPasswordValidator (a rule on the kinds of character); the common
    # list still refuses the common digit strings
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# allauth: log in by e-mail address, mandatory verification (portal.md: an account is a
# person with a verified e-mail address)
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USER_MODEL_USERNAME_FIELD = "username"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
# the same answer whether an address has an account or not, at sign-up (the owner gets a mail
# instead) and at password reset (allauth's default, stated because docs/security.md relies on it)
ACCOUNT_PREVENT_ENUMERATION = True
# re-authentication by password or the second factor only: allauth's default also offers a
# code mailed to the address, which would make e-mail an authentication factor (ASVS 2.2.2)
ACCOUNT_REAUTHENTICATION_METHODS = ["password", "mfa"]
# adding, removing or choosing the primary e-mail address asks for the password (or the second
# factor) again, however fresh the login, and that holds for 5 minutes (ASVS 3.7.1); so does
# making an API token (portal/api/pages.py)
ACCOUNT_REAUTHENTICATION_REQUIRED = True
# a mail to the owner when the password, an e-mail address or a second factor changes (ASVS 2.5.5)
ACCOUNT_EMAIL_NOTIFICATIONS = True
# a reset link works once (its token is made from the password hash) and for an hour
PASSWORD_RESET_TIMEOUT = int(_env("SPIEGEL_PORTAL_RESET_MINUTES", "60")) * 60
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Mijn Spiegel] "
ACCOUNT_RATE_LIMITS = {"login_failed": False}  # throttling is django-axes' job (one place)
# sign-up asks for an unticked, required consent to the privacy statement (ASVS 8.3.3)
ACCOUNT_SIGNUP_FORM_CLASS = "portal.access.forms.SignupConsentForm"
ACCOUNT_ADAPTER = "portal.access.adapter.AccountAdapter"  # insurer staff land on /verzekeraar/
# allauth's MFA: operators (staff) have a TOTP authenticator (portal/operators); login asks its
# code of every account that has one (/accounts/2fa/ to set it up). One step of clock drift
# either way is accepted; a code is used once. Wrong codes are counted and audited
# (portal/operators/mfa.py): a few lock the second factor for a while. A security key (WebAuthn,
# ASVS 2.3.2) can be added beside the code: its private key stays in the key, the portal keeps
# the public key only. fido2 accepts https origins and http://localhost, so no
# MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN (it would accept any origin); passkey login and sign-up stay
# off: a key is a second factor after the password, never the only one.
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_TOTP_ISSUER = "Mijn Spiegel"
# the TOTP secrets and recovery-code seeds are stored Fernet-encrypted with MFA_ENCRYPTION_KEYS
MFA_ADAPTER = "portal.access.mfa_adapter.MFAAdapter"
MFA_TOTP_TOLERANCE = 1
# ASVS 2.6.2: a recovery code of 34 digits, about 113 bits (allauth derives it from 17 bytes of an
# HMAC-SHA1 of the account's seed, taken modulo 10**34); its default of 8 digits is about 27 bits
MFA_RECOVERY_CODE_DIGITS = 34
MFA_FORMS = {
    "authenticate": "portal.operators.mfa.AuthenticateForm",
    "reauthenticate": "portal.operators.mfa.ReauthenticateForm",
    "add_webauthn": "portal.operators.mfa.AddWebAuthnForm",
    "edit_webauthn": "portal.operators.mfa.EditWebAuthnForm",
}
MFA_FAILURE_LIMIT = int(_env("SPIEGEL_PORTAL_MFA_FAILURES", "5"))
MFA_LOCKOUT = timedelta(minutes=int(_env("SPIEGEL_PORTAL_LOCKOUT_MINUTES", "15")))
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/praktijk/"
ACCOUNT_LOGOUT_REDIRECT_URL = "/"


def _days(name: str, default: int) -> int:
    """A retention period in whole days, at least one (portal/access/retention.py)."""
    raw = _env(name, str(default)).strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ImproperlyConfigured(f"{name} must be a whole number of days, at least 1 (got {raw!r})")
    return int(raw)


# retention (ASVS 8.3.8; the privacy statement shows these): what `spiegel portal purge-expired`
# deletes once it is older; expired sessions go too
RETENTION_LOGIN_DAYS = _days("SPIEGEL_PORTAL_RETENTION_LOGIN_DAYS", 90)
RETENTION_CONTACT_DAYS = _days("SPIEGEL_PORTAL_RETENTION_CONTACT_DAYS", 365)
RETENTION_SIGNUP_DAYS = _days("SPIEGEL_PORTAL_RETENTION_SIGNUP_DAYS", 7)

# django-axes: a few failures lock the account and the address for a while
AXES_FAILURE_LIMIT = int(_env("SPIEGEL_PORTAL_LOGIN_FAILURES", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(_env("SPIEGEL_PORTAL_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "portal.access.signals.axes_username"  # allauth passes email=, not login=
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "access/locked_out.html"
AXES_VERBOSE = False
# behind a reverse proxy: how many proxies append to X-Forwarded-For (portal/access/client_ip.py)
TRUSTED_PROXIES = int(_env("SPIEGEL_PORTAL_TRUSTED_PROXIES", "0"))
AXES_CLIENT_IP_CALLABLE = "portal.access.client_ip.client_ip"

# sessions expire: after 30 minutes without use and 8 hours after the login at the latest
# (portal/access/sessions.py), and at browser close; cookies and headers as a careful site sends them
SESSION_COOKIE_AGE = int(_env("SPIEGEL_PORTAL_SESSION_IDLE_SECONDS", str(30 * 60)))
SESSION_ABSOLUTE_SECONDS = int(_env("SPIEGEL_PORTAL_SESSION_SECONDS", str(8 * 3600)))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# allauth.usersessions keeps each session's last use and address (portal/access/sessions.py)
USERSESSIONS_TRACK_ACTIVITY = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_FAILURE_VIEW = "portal.access.views.csrf_failure"  # the usual 403, plus an audit line
_https = _env_bool("SPIEGEL_PORTAL_HTTPS", False)
SESSION_COOKIE_SECURE = _https
CSRF_COOKIE_SECURE = _https
if _https:
    # __Host-: sent only to this host, over TLS, for every path (ASVS 3.4.4); a browser refuses
    # such a cookie without Secure, so over plain http the names stay Django's
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_SSL_REDIRECT = _https
SECURE_HSTS_SECONDS = 31536000 if _https else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _https
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# what a request may carry: the largest form (the contact form's 5,000 characters, an admin
# page's selection) is far below these; more is refused with 400 before a view reads it
DATA_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024
DATA_UPLOAD_MAX_NUMBER_FIELDS = 1000
FILE_UPLOAD_MAX_MEMORY_SIZE = 256 * 1024

LANGUAGE_CODE = "nl"
LANGUAGES = [("nl", "Nederlands")]
# the portal's own Dutch for allauth's account pages (formal "u", "Inloggen", "Account
# aanvragen"): LOCALE_PATHS come before the apps' catalogues; compiled by scripts/setup.sh
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Amsterdam"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = PORTAL_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# tests and `portal serve` without collectstatic still find the files
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# the cache holds the read API's rate counters: files under the data directory, so that
# gunicorn's worker processes count one limit together (the local-memory cache is per process)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(PORTAL_DIR / "cache"),
        "OPTIONS": {"MAX_ENTRIES": 20000},
    }
}

# the read API (portal/api, portal.md "The read API"): read-only, token or session, JSON or CSV
API_RATE = _env("SPIEGEL_API_RATE", "120/minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "portal.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_CLASSES": ["portal.api.throttling.PerCallerRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"api": API_RATE},
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Spiegel read API",
    "DESCRIPTION": "The published figures of the landelijke behandelindex, read-only (portal.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
}

DEFAULT_FROM_EMAIL = _env("SPIEGEL_PORTAL_FROM_EMAIL", "Mijn Spiegel <noreply@spiegel.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if _env("SPIEGEL_PORTAL_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _env("SPIEGEL_PORTAL_EMAIL_HOST")
    EMAIL_PORT = int(_env("SPIEGEL_PORTAL_EMAIL_PORT", "587"))
    EMAIL_HOST_USER = _env("SPIEGEL_PORTAL_EMAIL_USER")
    EMAIL_HOST_PASSWORD = _env("SPIEGEL_PORTAL_EMAIL_PASSWORD")
    EMAIL_USE_TLS = _env_bool("SPIEGEL_PORTAL_EMAIL_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = MAIL_DIR

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": _env("SPIEGEL_PORTAL_LOG_LEVEL", "WARNING")},
}
