"""Django itself: the installed apps, middleware, URLs, templates, language and static files."""

from .environment import BASE_DIR, env

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    # Swagger UI and Redoc as static files of our own: the docs work offline and under a CSP.
    "drf_spectacular_sidecar",
    "django_prometheus",
    "django_celery_beat",
    "templated_mail",
    "apps.common",
    "apps.accounts",
    "apps.events",
    "apps.subscriptions",
    "apps.notifications",
    "apps.delivery",
    "apps.scenarios",
    "apps.ops",
    "apps.inbox",
    "apps.templating",
    "apps.scheduling",
    "apps.integrations",
    "apps.mailcatcher",
    "apps.dashboard",
    "axes",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apps.ops.correlation.CorrelationIdMiddleware",
    # Before any other work (after the request id, which its 503 carries): a request
    # that waited past its budget is answered at once (settings/api.py, LOAD_SHED_*).
    "apps.common.load_shedding.LoadSheddingMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself (gunicorn, uvicorn): no proxy needed for /static/.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.common.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
    # Last, as django-axes asks: it turns the lock-out its backend raises into the response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "notifications_project.urls"
WSGI_APPLICATION = "notifications_project.wsgi.application"
ASGI_APPLICATION = "notifications_project.asgi.application"

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
            ]
        },
    }
]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Where `collectstatic` gathers the files WhiteNoise serves when DEBUG is off.
STATIC_ROOT = BASE_DIR / env("STATIC_ROOT", default="staticfiles")
