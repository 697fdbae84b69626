"""Settings, all read from the environment (see .env.example), one module per concern.

`notifications_project.settings` is what DJANGO_SETTINGS_MODULE names; it gathers the
modules below. Each setting is assigned exactly once, in the module of its concern, and
never changed afterwards (tests/ops/test_settings_package.py checks both), so the order
of the imports does not matter. A module that needs another's value imports it by name
(`from .redis import REDIS_URL`). A new setting goes into the module of its concern.

    environment     BASE_DIR and the environment reader (.env file included)
    security        DEBUG, SECRET_KEY, allowed hosts and origins, password rules
    core            Django itself: apps, middleware, URLs, templates, language, static files
    database        DATABASES, the connection pool, the 503 of a refusing database
    redis           REDIS_URL, the Django cache, timeouts of every Redis client
    celery          broker, task queues and routes, worker behaviour
    api             REST framework, OpenAPI, request limits, throttling, idempotency
    notifications   fan-out, outbox relay, localisation, quiet hours
    delivery        retries and the sweeper of stuck deliveries
    channels        email, SMS, push and webhook channels, their providers and resilience
    periodic        beat's jobs: scheduled releases, digests, retention, locks
    integrations    status webhooks: the relay's interval, settling time and backoff
    inbox           the web inbox's sign-in pages and the live stream
    observability   logs, Prometheus metrics and operator alerts
"""

from .api import *  # noqa: F403
from .celery import *  # noqa: F403
from .channels import *  # noqa: F403
from .core import *  # noqa: F403
from .database import *  # noqa: F403
from .delivery import *  # noqa: F403
from .environment import *  # noqa: F403
from .inbox import *  # noqa: F403
from .integrations import *  # noqa: F403
from .notifications import *  # noqa: F403
from .observability import *  # noqa: F403
from .periodic import *  # noqa: F403
from .redis import *  # noqa: F403
from .security import *  # noqa: F403
