"""The teardown flush of a test with a live worker survives PostgreSQL choosing it as a
deadlock's victim (tests/conftest.py retries it): the connection below plays a worker
that read one table before the flush began and reads another the flush already holds."""

import io
import threading
import time

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from .worker import test_database_url as database_url

pytestmark = pytest.mark.django_db(transaction=True)


def flushed_tables() -> list[str]:
    out = io.StringIO()
    call_command("sqlflush", stdout=out)
    [truncate] = [line for line in out.getvalue().splitlines() if line.startswith("TRUNCATE")]
    names = truncate.removeprefix("TRUNCATE ").split(";")[0].split(" RESTART")[0]
    return [name.strip().strip('"') for name in names.split(",")]


def test_a_worker_reading_across_the_flush_deadlocks_it_and_it_runs_again():
    if connection.vendor != "postgresql":
        pytest.skip("TRUNCATE's table locks are PostgreSQL's")
    tables = flushed_tables()
    first, last = tables[0], tables[-1]

    def worker_reading_two_tables():
        with psycopg.connect(database_url()) as conn:
            conn.execute(f'SELECT 1 FROM "{last}" LIMIT 1')
            time.sleep(1.0)  # meanwhile the flush holds `first` and waits for `last`
            conn.execute(f'SELECT 1 FROM "{first}" LIMIT 1')

    threading.Thread(target=worker_reading_two_tables, daemon=True).start()
    # The test ends here; its teardown flush meets the worker's transaction. Without
    # the retry, this test errors at teardown with "deadlock detected".
    time.sleep(0.3)
