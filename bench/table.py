"""The table every benchmark here ends with: its rows, the machine, the command and the time,
printed, and appended to a file when asked (``--out bench/RESULTS.md``)."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path


def report(
    header: str, rows: Sequence[tuple[str, ...]], machine: str, started: float, out: Path | None
) -> None:
    lines = [
        f"| {header} | measure | value | target |",
        "|---|---|---|---|",
        *(f"| {' | '.join(r)} |" for r in rows),
        "",
        machine,
        f"Command: `{' '.join(['.venv/bin/python', *sys.argv])}`; "
        f"{(time.perf_counter() - started) / 60:.1f} min in all.",
    ]
    print("\n".join(lines))
    if out:
        with out.open("a", encoding="utf-8") as f:
            f.write("\n" + "\n".join(lines) + "\n")
