"""Textwheel settings: every value comes from the environment, with defaults for the embedded setup."""

import secrets
from datetime import timedelta
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")  # optional; absent in most installs

DATA_ROOT = Path(env.str("DATA_ROOT", default=str(BASE_DIR / "var"))).resolve()
DATA_ROOT.mkdir(parents=True, exist_ok=True)


def _default_secret_key() -> str:
    # The embedded default keeps a generated key on disk so sessions and encrypted access-key
    # secrets survive restarts; production sets SECRET_KEY explicitly.
    path = DATA_ROOT / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = env.str("SECRET_KEY", default="") or _default_secret_key()
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

AWS_REGION = env.str("AWS_REGION", default="us-east-1")
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default="")
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default="")
# Optional per-account S3 credentials: a JSON object {"<account id>": {"access_key_id": ...,
# "secret_access_key": ..., "bucket_prefix": ...}} so accounts stay isolated on a shared service.
S3_ACCOUNT_CREDENTIALS = env.json("S3_ACCOUNT_CREDENTIALS", default={})
# With S3_ENDPOINT_URL set, trained models live in this bucket on the shared credentials, where
# every account's buckets start with its id: no account's URI can reach it.
ARTIFACT_BUCKET = env.str("ARTIFACT_BUCKET", default="textwheel-artifacts")

INSTALLED_APPS = [
    # Textwheel's own apps come first so their management commands (rqworker) take precedence.
    "webapp",
    "webapp.core",
    "webapp.accounts",
    "models_app",
    "flywheel_app",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_rq",
    "axes",
]

MIDDLEWARE = [
    # First, so that everything said on the API route (POST /) is AWS's JSON error shape.
    "webapp.api.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "webapp.accounts.middleware.CurrentAccountMiddleware",
    "webapp.accounts.middleware.ClientAddressMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a refused sign-in into the console's lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

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
                "webapp.accounts.context_processors.current_account",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{DATA_ROOT / 'textwheel.sqlite3'}")
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
# Reusing connections saves a connect per API call; set DB_CONN_MAX_AGE=60 in production.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=0)
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web server and the worker write to one SQLite file at once; wait instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="redis://127.0.0.1:6379/0")
RQ_QUEUES = {
    name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": timeout}
    for name, timeout in (("training", 6 * 3600), ("inference", 3600), ("default", 600))
}
# Jobs wait in an outbox table until the transaction commits (webapp/core/background.py), so RQ
# itself enqueues at once.
RQ = {"COMMIT_MODE": "auto"}

# How the database stays the truth about running work (see webapp/core/background.py).
JOB_HEARTBEAT_SECONDS = env.float("JOB_HEARTBEAT_SECONDS", default=5.0)
JOB_STALE_SECONDS = env.float("JOB_STALE_SECONDS", default=40.0)
RECONCILE_INTERVAL_SECONDS = env.float("RECONCILE_INTERVAL_SECONDS", default=15.0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Sign-in throttling (django-axes, see webapp/accounts/throttle.py). After LOGIN_FAILURE_LIMIT
# wrong passwords for one user name from one address, or LOGIN_ADDRESS_FAILURE_LIMIT for any
# names from one address (higher: an office shares one address), sign-in from there is refused,
# even with the right password, until LOGIN_COOLOFF_MINUTES have passed since the last failure.
# Unlock early with `manage.py axes_reset_username <name>`, `axes_reset_ip <address>` or `axes_reset`.
AUTHENTICATION_BACKENDS = [
    "webapp.accounts.throttle.LoginThrottleBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=20)
LOGIN_COOLOFF_MINUTES = env.float("LOGIN_COOLOFF_MINUTES", default=15.0)
# Addresses come from REMOTE_ADDR; behind reverse proxies that append to X-Forwarded-For, set
# this to how many there are, or every client shares the proxy's address.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_COOLOFF_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_HANDLER = "webapp.accounts.throttle.LoginAttemptHandler"
AXES_CLIENT_IP_CALLABLE = "webapp.accounts.throttle.client_address"
AXES_LOCKOUT_CALLABLE = "webapp.accounts.throttle.locked_out"
# Attempts during a lockout are refused without being counted, so the time the page names holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True

# Running behind TLS (see the README). Off by default: the embedded setup serves plain HTTP.
SECURE_COOKIES = env.bool("SECURE_COOKIES", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
# A TLS proxy in front says the original scheme in a header, e.g.
# SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https; trust it only if the proxy always sets it.
SECURE_PROXY_SSL_HEADER = env.tuple("SECURE_PROXY_SSL_HEADER", default=None) or None
# The console runs only its own scripts (static/js, and plotly served from static/vendor): no
# inline script, no eval. Plotly styles its charts through style attributes, hence inline styles.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
    # django-rq's queue pages (staff only) carry inline scripts of their own.
    "EXCLUDE_URL_PREFIXES": ["/admin/django_rq/"],
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(DATA_ROOT / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Lets whitenoise serve files straight from the finders when collectstatic has not run.
WHITENOISE_USE_FINDERS = True

# Uploads through the console can be large training files; stream them to disk.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
# The largest API request body (bytes); larger ones answer 413 in AWS's shape. 16 MiB holds the
# largest document Comprehend takes (10 MB of Bytes) once base64-encoded.
API_MAX_BODY_BYTES = env.int("API_MAX_BODY_BYTES", default=16 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}

STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "webapp.staticfinders.PlotlyFinder",
]

# Seconds a verified access key (and its decrypted secret) is reused by a web process; a key
# revoked in another process stops working there within this time (0 = look up every call).
ACCESS_KEY_CACHE_SECONDS = env.float("ACCESS_KEY_CACHE_SECONDS", default=2.0)

# Seconds a web process reuses an IN_SERVICE endpoint's route (which model answers it); a
# change made through another process reaches this one within this time (0 = query every call).
ENDPOINT_ROUTE_CACHE_SECONDS = env.float("ENDPOINT_ROUTE_CACHE_SECONDS", default=1.0)

# Training budgets: model selection stops trying candidates (a recognizer, adding epochs) when
# the budget runs out. They count work from the data's size, not seconds, so the same data and
# settings give the same model on any machine; a unit is about a second on an idle machine.
# Unset, a classifier's budget grows with its training text: 40 plus 2.5 per million
# characters (models_app.ml.classifier.default_time_budget).
CLASSIFIER_TIME_BUDGET_SECONDS = env.float("CLASSIFIER_TIME_BUDGET_SECONDS", default=None)
RECOGNIZER_TIME_BUDGET_SECONDS = env.float("RECOGNIZER_TIME_BUDGET_SECONDS", default=1080.0)
# The wall clock stops training only after this many times the budget in seconds, and never
# before the minimum (a safety limit for a machine far slower or busier than planned); a version
# it cut says so in its message.
TRAINING_SAFETY_FACTOR = env.float("TRAINING_SAFETY_FACTOR", default=5.0)
TRAINING_SAFETY_MIN_SECONDS = env.float("TRAINING_SAFETY_MIN_SECONDS", default=600.0)
# Pretrained base models the operator installs (one folder per model, in Hugging Face's layout);
# packages that carry one are found too (models_app.ml.base_models). Nothing is downloaded.
BASE_MODELS_DIR = Path(env.str("BASE_MODELS_DIR", default=str(DATA_ROOT / "base-models")))
# Which known packages that carry a base model are looked for: "*" every one Textwheel knows,
# a comma-separated list of distribution names only those, empty none (the test suite).
BASE_MODEL_PACKAGES = env.list("BASE_MODEL_PACKAGES", default=["*"])
# Off: training never adds base-model candidates (a tag naming one is refused at the create call).
BASE_MODELS_ENABLED = env.bool("BASE_MODELS_ENABLED", default=True)
# The base model training uses when the create call's tag textwheel:base-model names none;
# empty: the first usable installed one, by name.
BASE_MODEL = env.str("BASE_MODEL", default="")
# torch threads per web process for models with a base model (0: the cores this process may use
# divided among gunicorn's worker processes, at least one). A call runs in one of a process's
# threads; more torch threads than cores across the processes only slows every call. A GPU is
# used when torch sees one.
SERVING_TORCH_THREADS = env.int("SERVING_TORCH_THREADS", default=0)
# torch threads per training or analysis job (0: every core the worker may use). With several
# workers on one machine, the cores divided among them.
WORKER_TORCH_THREADS = env.int("WORKER_TORCH_THREADS", default=0)
# Prediction with a base model's encoder runs its linear layers in bfloat16 where the CPU (AVX512-
# BF16 or AMX) or GPU has it natively and the model's validation allowed it: about three times
# faster on such a CPU. Elsewhere on a CPU, in int8 where validation allowed that: about twice as
# fast. Both off: float32 everywhere, so every machine gives the same answers.
ENCODER_BF16 = env.bool("ENCODER_BF16", default=True)
ENCODER_INT8 = env.bool("ENCODER_INT8", default=True)

# Inference. Comprehend sells throughput as inference units (1 unit = 100 characters/s); on one's
# own hardware they are recorded and shown, and throttle only when this allowance per unit is set.
INFERENCE_CHARS_PER_SECOND_PER_UNIT = env.float("INFERENCE_CHARS_PER_SECOND_PER_UNIT", default=None)
INFERENCE_MAX_UNITS_PER_ENDPOINT = env.int("INFERENCE_MAX_UNITS_PER_ENDPOINT", default=10)
# Loaded models each process keeps (keyed by version and artifact sha256), least recently used out.
INFERENCE_MODEL_CACHE_SIZE = env.int("INFERENCE_MODEL_CACHE_SIZE", default=8)
# Analysis jobs are split into chunks of about this many documents (or bytes), one RQ job each.
ANALYSIS_CHUNK_DOCUMENTS = env.int("ANALYSIS_CHUNK_DOCUMENTS", default=5000)
ANALYSIS_CHUNK_BYTES = env.int("ANALYSIS_CHUNK_BYTES", default=16 * 1024 * 1024)
ANALYSIS_TASK_ATTEMPTS = env.int("ANALYSIS_TASK_ATTEMPTS", default=3)
# Real-time calls that arrive while a model is busy are answered together, up to this many.
INFERENCE_MAX_BATCH = env.int("INFERENCE_MAX_BATCH", default=16)
# ... and at most this many characters, so long documents do not hold up short ones.
INFERENCE_MAX_BATCH_CHARS = env.int("INFERENCE_MAX_BATCH_CHARS", default=20_000)
# Under load, a real-time call waits this long for others to share its batch (0 = never waits).
INFERENCE_BATCH_LINGER_MS = env.float("INFERENCE_BATCH_LINGER_MS", default=1.0)
