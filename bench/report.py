"""Shared by the benchmarks: machine description, medians, and rewriting one section of
docs/BENCHMARKS.md (between `<!-- bench:NAME -->` markers) so each benchmark owns its part."""

import datetime
import os
import platform
import re
import statistics
import subprocess
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
HEADER = """# Benchmarks

Written by the scripts under `bench/` (`make bench` runs them all). Figures are medians of
several runs; peers are measured in the same run, so ratios hold when the machine drifts.
"""


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}"


def postgres_version() -> str:
    try:
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        out = ""
    return out or "PostgreSQL"


def median(values):
    return statistics.median(values)


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a live process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def write_section(name: str, body: str, command: str) -> None:
    """Replace (or append) this benchmark's section of docs/BENCHMARKS.md."""
    stamp = datetime.date.today().isoformat()
    section = (
        f"<!-- bench:{name} -->\n## {name}\n\n"
        f"- Command: `{command}`\n- Machine: {machine()}\n- Date: {stamp}\n"
        f"- Load average when written (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n\n"
        f"{body.strip()}\n"
        f"<!-- /bench:{name} -->"
    )
    text = REPORT.read_text() if REPORT.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
