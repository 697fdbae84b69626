"""Run every benchmark under bench/ in turn, then rewrite the summary table at the top of
docs/BENCHMARKS.md from the figures each one wrote into its section.

    python bench/run_all.py [options passed to every benchmark, e.g. --runs 3 --sizes 10000,100000]

A benchmark is any bench/*.py with a `main()` other than the shared helpers.
"""

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NOT_BENCHMARKS = {"__init__.py", "report.py", "run_all.py"}


def benchmarks() -> list[Path]:
    return sorted(
        path
        for path in BENCH.glob("*.py")
        if path.name not in NOT_BENCHMARKS and 'if __name__ == "__main__"' in path.read_text()
    )


def main():
    sys.path.insert(0, str(ROOT))
    from bench.report import write_summary

    failed = []
    for path in benchmarks():
        print(f"=== {path.relative_to(ROOT)} {' '.join(sys.argv[1:])}", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(path), *sys.argv[1:]], cwd=ROOT, check=False)
        print(f"=== {path.name}: exit {result.returncode} after {time.monotonic() - started:.0f} s", flush=True)
        if result.returncode:
            failed.append(path.name)
    write_summary()
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
