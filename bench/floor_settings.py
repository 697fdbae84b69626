"""The service's settings with bench/floor_urls.py as the URLconf: for bench/api.py only
(DJANGO_SETTINGS_MODULE=bench.floor_settings), never deployed."""

from notifications_project.settings import *  # noqa: F403

ROOT_URLCONF = "bench.floor_urls"
