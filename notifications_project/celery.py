import os

from celery import Celery

from .celery_pool import keep_database_pools

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")

app = Celery("notifications_project")
keep_database_pools(app)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
