"""The environment the web benchmarks run the service in: production settings, served
over plain HTTP on the loopback, with a secret and field key of the run's own, and the
throttles out of the way (the benchmarks measure the request path, not the throttle's
refusal of it). Each is a default: the caller's environment wins."""

import os

PRODUCTION_LIKE = {
    "SECRET_KEY": "bench-only-secret-key-not-for-production",
    "DEBUG": "false",
    "FIELD_ENCRYPTION_KEYS": "YmVuY2gtb25seS1maWVsZC1lbmNyeXB0aW9uLWtleSE=",
    "SECURE_SSL_REDIRECT": "false",
    "API_KEY_THROTTLE_RATE": "10000000/min",
    "PERSON_THROTTLE_RATE": "10000000/min",
    "CONN_MAX_AGE": "600",
}


def production_like() -> None:
    """Set PRODUCTION_LIKE's defaults in this process's environment, before django.setup()."""
    for name, value in PRODUCTION_LIKE.items():
        os.environ.setdefault(name, value)
