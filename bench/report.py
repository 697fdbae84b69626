"""Shared by the benchmarks: machine description, medians, and rewriting one section of
docs/BENCHMARKS.md (between `<!-- bench:NAME -->` markers) so each benchmark owns its part."""

import datetime
import json
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


def write_section(name: str, body: str, command: str, figures: list[tuple[str, str]] | None = None) -> None:
    """Replace (or append) this benchmark's section of docs/BENCHMARKS.md. `figures` are
    its headline (what, median) pairs, gathered into the summary table by write_summary."""
    stamp = datetime.date.today().isoformat()
    meta = {"command": command, "machine": machine(), "date": stamp, "figures": figures or []}
    section = (
        f"<!-- bench:{name} -->\n## {name}\n\n"
        f"- Command: `{command}`\n- Machine: {machine()}\n- Date: {stamp}\n"
        f"- Load average when written (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in os.getloadavg())}\n\n"
        f"{body.strip()}\n"
        f"<!-- figures: {json.dumps(meta)} -->\n"
        f"<!-- /bench:{name} -->"
    )
    text = REPORT.read_text() if REPORT.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    write_summary()  # the table at the top follows every section it lists


SUMMARY = re.compile(r"<!-- bench:summary -->.*?<!-- /bench:summary -->\n*", re.S)
SECTION = re.compile(
    r"<!-- bench:(?P<name>[\w.-]+) -->.*?(?:<!-- figures: (?P<meta>.*?) -->\n)?<!-- /bench:(?P=name) -->", re.S
)


def write_summary() -> None:
    """Rewrite the table at the top of docs/BENCHMARKS.md from every section's figures."""
    text = REPORT.read_text() if REPORT.exists() else HEADER
    text = SUMMARY.sub("", text)
    rows = ["| benchmark | figure | median | command | machine | date |", "|---|---|---:|---|---|---|"]
    for match in SECTION.finditer(text):
        name = match["name"]
        meta = json.loads(match["meta"]) if match["meta"] else None
        if not meta or not meta["figures"]:
            rows.append(f"| [{name}](#{name}) | see its section | | | | |")
            continue
        where = f"`{meta['command']}` | {meta['machine']} | {meta['date']}"
        rows += [f"| [{name}](#{name}) | {what} | {value} | {where} |" for what, value in meta["figures"]]
    table = "<!-- bench:summary -->\n## Summary\n\n" + "\n".join(rows) + "\n<!-- /bench:summary -->\n\n"
    first = text.find("<!-- bench:")
    text = text.rstrip() + "\n\n" + table if first < 0 else text[:first] + table + text[first:]
    REPORT.write_text(text)
