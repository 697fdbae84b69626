"""PostgreSQL's own ceiling for a parallel fan-out on this machine: rows like the fan-out's
inserted by plain SQL into a copy of the inbox table (its columns, defaults and
indexes), by one statement, then by `parts` statements side by side over equal user id
spans, each on its own connection.

The ratio of the two is what parallel fan-out could reach here if it cost nothing but
the inserts: no Celery, no audience join, no ranges to plan. When the database cannot
take two writers into one table faster than one (relation extension and index pages are
shared), ranges cannot either, and this figure shows it in the same invocation.
"""

import threading
import time

import psycopg

COPY = "bench_inbox_copy"
CREATE = f"CREATE TABLE {COPY} (LIKE notifications_usernotification INCLUDING ALL)"
INSERT = f"""
    INSERT INTO {COPY} (event_id, user_id, title, body, url, in_inbox, created_at, address)
    SELECT 1, g, 'Scenario "Checkout flow" created', 'Alice created the scenario Checkout flow.',
           '/scenarios/1/', true, now(), ''
    FROM generate_series(%s::int, %s::int) g
"""


def _spans(size: int, parts: int) -> list[tuple[int, int]]:
    return [(part * size // parts + 1, (part + 1) * size // parts) for part in range(parts)]


def insert_seconds(url: str, size: int, parts: int) -> float:
    """Seconds to insert `size` rows into a fresh copy of the inbox table by `parts`
    statements at once (1: one statement)."""
    url = url.split("?")[0].replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"DROP TABLE IF EXISTS {COPY}")
        admin.execute(CREATE)
    connections = [psycopg.connect(url, autocommit=True) for _ in range(parts)]
    start = threading.Barrier(parts + 1)
    failures = []

    def insert(conn, first: int, last: int) -> None:
        start.wait()
        try:
            conn.execute(INSERT, (first, last))
        except psycopg.Error as error:
            failures.append(error)

    threads = [
        threading.Thread(target=insert, args=(conn, first, last))
        for conn, (first, last) in zip(connections, _spans(size, parts), strict=True)
    ]
    try:
        for thread in threads:
            thread.start()
        start.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        if failures:
            raise failures[0]
        return elapsed
    finally:
        for conn in connections:
            conn.close()
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP TABLE IF EXISTS {COPY}")
