"""Limits shared by every worker, kept in Redis: Celery's own rate_limit is per worker."""
