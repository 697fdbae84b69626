"""Celery hooks: the correlation id and the time of publishing travel in each task
message's headers, the worker logs through the project's JSON logging instead of
Celery's own set-up, each beat job's success is recorded (its heartbeat), and on
RabbitMQ a starting worker declares the task queues."""

import contextlib
import logging.config
import time

from celery import signals
from django.conf import settings

from . import broker, metrics
from .correlation import correlation_id_get, correlation_id_new, correlation_id_reset, correlation_id_set
from .heartbeats import heartbeat_record, periodic_task_names

logger = logging.getLogger(__name__)

# Not "correlation_id": Celery already uses that name for the task id.
HEADER = "x_request_id"
_tokens = {}


@signals.setup_logging.connect(dispatch_uid="ops.setup_logging")
def use_django_logging(**kwargs):
    # Connecting this signal stops Celery from replacing the root handlers.
    logging.config.dictConfig(settings.LOGGING)


@signals.before_task_publish.connect(dispatch_uid="ops.publish_correlation_id")
def add_correlation_id(headers=None, **kwargs):
    """A task published while handling a request (or another task) carries its id."""
    correlation_id = correlation_id_get()
    if correlation_id and headers is not None and not headers.get(HEADER):
        headers[HEADER] = correlation_id


@signals.before_task_publish.connect(dispatch_uid="ops.publish_time")
def add_published_at(headers=None, **kwargs):
    if headers is not None:
        headers[broker.PUBLISHED_AT_HEADER] = time.time()  # read by broker.queue_oldest_ages


@signals.task_prerun.connect(dispatch_uid="ops.task_correlation_id")
def enter_correlation_id(task_id=None, task=None, **kwargs):
    # A task nobody asked for in a request (beat, a retry of an old message) starts
    # its own id, so its log lines still belong together.
    correlation_id = getattr(task.request, HEADER, None) or correlation_id_new()
    _tokens[task_id] = correlation_id_set(correlation_id)


@signals.task_postrun.connect(dispatch_uid="ops.task_correlation_id_end")
def leave_correlation_id(task_id=None, **kwargs):
    token = _tokens.pop(task_id, None)
    if token is not None:
        # Set in another context (a thread pool): nothing to restore there.
        with contextlib.suppress(ValueError):
            correlation_id_reset(token)


@signals.task_retry.connect(dispatch_uid="ops.task_retry_metric")
def count_retry(sender=None, **kwargs):
    metrics.TASK_RETRIES.labels(task=getattr(sender, "name", "unknown")).inc()


@signals.task_success.connect(dispatch_uid="ops.periodic_heartbeat")
def record_heartbeat(sender=None, result=None, **kwargs):
    name = getattr(sender, "name", None)
    if name not in periodic_task_names():
        return
    if isinstance(result, dict) and result.get("skipped"):
        return  # another run holds the slot or is still running: this one did nothing
    try:
        heartbeat_record(name)
    except Exception:  # observing must never fail the task it observes
        logger.exception("heartbeat of %s not recorded", name)


@signals.worker_init.connect(dispatch_uid="ops.declare_task_queues")
def declare_task_queues(sender=None, **kwargs):
    """RabbitMQ: every task queue exists, as a quorum queue, before the worker consumes
    (broker.declare_task_queues says why all of them). A broker down now is no reason
    not to start: the worker waits for it, and declares what it consumes itself."""
    if broker.is_rabbitmq(settings.CELERY_BROKER_URL):
        try:
            broker.declare_task_queues(sender.app)
        except broker.BROKER_ERRORS:
            logger.warning("broker: task queues not declared at worker start", exc_info=True)
