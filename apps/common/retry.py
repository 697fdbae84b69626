"""Retry options shared by tasks that must outlive a database restart or failover."""

from django.db import InterfaceError, OperationalError

# A connection cut mid-task is retried soon with a fresh connection (CONN_HEALTH_CHECKS);
# the tasks are idempotent, so the re-run resumes where the committed work ends.
DATABASE_OUTAGE_RETRY = {
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": 1,
    "retry_backoff_max": 30,
    "max_retries": 10,
}
