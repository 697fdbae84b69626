import os

from celery import Celery

from notifications_project import redis_transport

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "notifications_project.settings")

# Redis brokers publish through one client per channel, not one per message.
redis_transport.install()
# Celery's Django fixup, keeping each worker process's database pool between tasks.
app = Celery("notifications_project", fixups=["notifications_project.celery_pool:fixup"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
