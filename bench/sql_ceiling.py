"""PostgreSQL's own ceiling for a parallel fan-out on this machine: rows like the fan-out's
inserted by plain SQL into a copy of the inbox table (its columns, defaults and
indexes), by one statement, then by `parts` statements side by side over equal user id
spans, each on its own connection.

The ratio of the two is what parallel fan-out could reach here if it cost nothing but
the inserts: no Celery, no audience join, no ranges to plan. When the database cannot
take two writers into one table faster than one (relation extension and index pages are
shared), ranges cannot either, and this figure shows it in the same invocation.

With `apart`, each statement writes a copy of its own: what an inbox partitioned with
its partitions aligned to the ranges could reach, nothing shared but the WAL and the
cores.
"""

import threading
import time

import psycopg

COPY = "bench_inbox_copy"
CREATE = "CREATE TABLE {table} (LIKE notifications_usernotification INCLUDING ALL)"
INSERT = """
    INSERT INTO {table} (event_id, user_id, title, body, url, in_inbox, created_at, address)
    SELECT 1, g, 'Scenario "Checkout flow" created', 'Alice created the scenario Checkout flow.',
           '/scenarios/1/', true, now(), ''
    FROM generate_series(%s::int, %s::int) g
"""


def _spans(size: int, parts: int) -> list[tuple[int, int]]:
    return [(part * size // parts + 1, (part + 1) * size // parts) for part in range(parts)]


def libpq_url(url: str) -> str:
    """DATABASE_URL as psycopg takes it: the postgresql:// scheme, no Django options."""
    return url.split("?")[0].replace("postgres://", "postgresql://", 1)


def _tables(parts: int, apart: bool) -> list[str]:
    return [f"{COPY}_{part}" if apart else COPY for part in range(parts)]


def _drop(url: str, tables: list[str], create: bool = False) -> None:
    """Drop the copies (and, with `create`, make them afresh)."""
    with psycopg.connect(url, autocommit=True) as admin:
        for table in sorted(set(tables)):
            admin.execute(f"DROP TABLE IF EXISTS {table}")
            if create:
                admin.execute(CREATE.format(table=table))


def insert_seconds(url: str, size: int, parts: int, apart: bool = False) -> float:
    """Seconds to insert `size` rows into a fresh copy of the inbox table by `parts`
    statements at once (1: one statement); `apart`: each into a copy of its own."""
    url = libpq_url(url)
    tables = _tables(parts, apart)
    _drop(url, tables, create=True)
    connections = [psycopg.connect(url, autocommit=True) for _ in range(parts)]
    start = threading.Barrier(parts + 1)
    failures = []

    def insert(conn, table: str, first: int, last: int) -> None:
        start.wait()
        try:
            conn.execute(INSERT.format(table=table), (first, last))
        except psycopg.Error as error:
            failures.append(error)

    threads = [
        threading.Thread(target=insert, args=(conn, table, first, last))
        for conn, table, (first, last) in zip(connections, tables, _spans(size, parts), strict=True)
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
        _drop(url, tables)


SHOWN = ("server_version", "shared_buffers", "wal_buffers", "wal_writer_delay", "max_wal_size", "synchronous_commit")


def postgres_settings(url: str) -> str:
    """The server settings the ceiling depends on (WAL writing, above all), as SHOW gives them."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        return ", ".join(f"{name} {conn.execute(f'SHOW {name}').fetchone()[0]}" for name in SHOWN)


MODES = {"one statement": (1, False), "2 at once, one table": (2, False), "2 at once, 2 tables": (2, True)}


def main() -> None:
    """Alone, against a database holding the inbox table (migrated):

        DATABASE_URL=postgres://…/db python bench/sql_ceiling.py [--size N] [--runs R] [--label L]

    Interleaved runs of the three modes; medians and the two ratios to one statement,
    written to docs/BENCHMARKS.md as the section sql-ceiling-<label>."""
    import argparse
    import os
    import statistics
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.report import write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--label", default="default")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    times = {mode: [] for mode in MODES}
    for run in range(args.runs):
        for mode, (parts, apart) in MODES.items():
            times[mode].append(insert_seconds(url, args.size, parts, apart))
            print(f"run {run + 1} {mode}: {times[mode][-1]:.2f} s", flush=True)  # noqa: T201
    medians = {mode: statistics.median(runs) for mode, runs in times.items()}
    one = medians["one statement"]
    lines = [
        "| mode | median | vs one statement | runs |",
        "|---|---:|---:|---|",
        *(
            f"| {mode} | {medians[mode]:.2f} s | {one / medians[mode]:.2f}× | {', '.join(f'{t:.2f}' for t in runs)} |"
            for mode, runs in times.items()
        ),
        "",
        f"{args.size:,} rows like the fan-out's into copies of the inbox table (its columns and indexes), "
        f"{args.runs} interleaved runs. PostgreSQL: {postgres_settings(url)}.",
    ]
    body = "\n".join(lines)
    print(body)  # noqa: T201
    apart = one / medians["2 at once, 2 tables"]
    figures = [
        (
            f"PostgreSQL ceiling ({args.label}): 2 writers, one table / 2 tables",
            f"{one / medians['2 at once, one table']:.2f}× / {apart:.2f}×",
        )
    ]
    command = f"python bench/sql_ceiling.py --size {args.size} --runs {args.runs} --label {args.label}"
    write_section(f"sql-ceiling-{args.label}", body, command=command, figures=figures)


if __name__ == "__main__":
    main()
