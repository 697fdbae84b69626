"""Minimal settings for django-notifications (`notify.send`) measured as a peer: only auth,
contenttypes and the notifications app, on a PostgreSQL database of its own (its app
label `notifications` is ours too, so it never shares a process with the service)."""

import os

import environ

SECRET_KEY = "bench-only"
USE_TZ = True
INSTALLED_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "notifications"]
DATABASES = {"default": environ.Env.db_url_config(os.environ["PEER_DATABASE_URL"])}
DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
