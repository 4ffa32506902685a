"""pikabot benchmarks: figures, floors measured in the same run, ratios and targets. Never pass/fail.

Run with `make bench`. Everything talks to 127.0.0.1 only. Results are printed as a table and
appended to benchmarks/RESULTS.md with the machine and the date, so a regression is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import secrets
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import cluster, community
from benchmarks.ack_latency import bench_acks
from benchmarks.bot_process import bench_process
from benchmarks.callback_server import bench_callbacks
from benchmarks.figures import Row
from benchmarks.lost_callback import bench_lost_callback
from benchmarks.recovery import bench_recovery
from benchmarks.result_latency import bench_results
from benchmarks.store import bench_store, bench_store_pg
from benchmarks.upstream import bench_busy, bench_economy, bench_fault_lag

# The bodies live in one module per figure; this order is the row order of RESULTS.md.
BENCHES: list[Callable[[Path], Awaitable[list[Row]]]] = [
    bench_acks,
    bench_results,
    bench_store,
    bench_store_pg,
    bench_callbacks,
    bench_economy,
    bench_fault_lag,
    bench_recovery,
    bench_process,
    bench_busy,
    bench_lost_callback,
    *community.BENCHES,
    *cluster.BENCHES,
]


def render(rows: list[Row]) -> str:
    """The rows as the Markdown table printed and appended to RESULTS.md."""
    head = f"| {'figure':<46} | {'median':>9} | {'p99':>9} | {'max':>9} | {'floor':>9} | {'ratio':>6} | {'target':<12} | met |"
    lines = [head, "|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|"]
    for row in rows:
        floor = f"{row.floor:9.1f}" if row.floor else f"{'-':>9}"
        met = {True: "yes", False: "NO", None: "-"}[row.met]
        lines.append(
            f"| {row.name + ' (' + row.unit + ')':<46} | {row.median:9.2f} | {row.p99:9.2f} | {row.maximum:9.2f} | "
            f"{floor} | {row.ratio:>6} | {row.target:<12} | {met:<3} |"
        )
    return "\n".join(lines)


def chosen(argv: list[str]) -> list[Callable[[Path], Awaitable[list[Row]]]]:
    """The benches named by --only (``--only store,callbacks`` or repeated), or all of them."""
    names = {bench.__name__.removeprefix("bench_"): bench for bench in BENCHES}
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--only", action="append", help=f"run only these (comma-separated, repeatable): {', '.join(names)}"
    )
    args = parser.parse_args(argv)
    wanted = [name.strip() for item in args.only or () for name in item.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in names]
    if unknown:
        parser.error(f"unknown bench(es): {', '.join(unknown)}")
    return [names[name] for name in wanted] if wanted else list(BENCHES)


async def main(benches: list[Callable[[Path], Awaitable[list[Row]]]]) -> int:
    """Run `benches`, print the table and, for a full run only, append it to RESULTS.md."""
    # The fault benches provoke warnings by design, and the ack bench stops bots mid-command.
    logging.basicConfig(level=logging.CRITICAL)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="pikabot-bench-") as tmp:
        for bench in benches:
            print(f"running {bench.__name__} …", file=sys.stderr, flush=True)
            rows.extend(await bench(Path(tmp)))
    table = render(rows)
    print(table)
    if len(benches) != len(BENCHES):
        return 0  # a partial run is not a row of the record in RESULTS.md
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results = Path(__file__).with_name("RESULTS.md")
    with results.open("a") as out:
        out.write(f"\n## {stamp} — {machine} — run {secrets.token_hex(3)}\n\n{table}\n")
    print(f"\nappended to {results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(chosen(sys.argv[1:]))))
