from celery import shared_task

from . import services


@shared_task(name="events.outbox_relay")
def outbox_relay_task():
    return services.outbox_relay()
