"""Alerts to the operators: conditions read from PostgreSQL and Redis (conditions.py),
one incident per condition and subject with its messages (incidents.py), written for a
person (messages.py) and sent straight to the operators' destinations (destinations.py),
never through the delivery pipeline whose failures they report. evaluate.py runs it all;
beat calls it every ALERT_EVALUATE_INTERVAL_SECONDS (apps/ops/tasks.py)."""
