"""Write one benchmark's table into docs/benchmarks.md between its own markers."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from datetime import UTC, datetime
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = """# Benchmarks

Each section is written by a script in `bench/` (run `make bench`, or one script directly).
Machines here are shared and noisy: figures are medians over repeated runs, and each table puts
the baseline measured in the same run beside Pluma's figure.
"""


def machine() -> str:
    """A one-line description of where the numbers came from."""
    cpu = platform.processor() or platform.machine()
    try:
        model = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
        cpu = model
    except (OSError, StopIteration):
        pass
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib:.0f} GiB, Python {platform.python_version()}"


def commit() -> str:
    """The git commit measured."""
    try:
        return subprocess.check_output(["git", "rev-parse", "--short", "HEAD"], text=True).strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def median_ms(samples: list[float]) -> float:
    """Median of samples given in seconds, as milliseconds."""
    return statistics.median(samples) * 1000


def write_section(name: str, title: str, body: str) -> None:
    """Replace (or append) the section delimited by ``<!-- name:start -->``/``<!-- name:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = f"{start}\n## {title}\n\n{stamp}, commit {commit()}, {machine()}.\n\n{body.strip()}\n{end}"
    text = BENCHMARKS.read_text("utf-8") if BENCHMARKS.exists() else HEADER
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    BENCHMARKS.write_text(text, "utf-8")
