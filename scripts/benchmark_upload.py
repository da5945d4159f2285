"""Benchmark of the on-run-end upload `upload_run_results(results)` on DuckDB: printed figures,
never a timed test.

a. Upload time and statement count for 200 / 2,000 / 10,000 node results. A generated project of
   2,000 trivial models (each runs `select 1` through a materialization that creates nothing) is run
   once with three on-run-end hooks that upload the first 200 results, 2,000 results, and the
   results five times over (10,000 rows: real dbt result objects, so the hook does its real work).
   Figures: the hook's own summary line (seconds, statements) and dbt's timing of the whole hook
   (rendering included).
b. Wall time of `dbt build` of a generated project of 2,000 view models with the hook vs without
   it (same project otherwise), alternating, best of --repeats; the ratio; and the hook's own time
   inside those builds (dbt's timing of the on-run-end hook), which run-to-run noise cannot blur.

Usage: python scripts/benchmark_upload.py [--models 2000] [--repeats 2] [--workdir DIR] [--skip-build]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from pipeline_costs.bulk_project import write_bulk_project

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PROJECT = "upload_bench"
HOOK = "dbt_pipeline_costs.upload_run_results({})"
# `results` is undefined while dbt parses the hooks: only slice and repeat it at run time.
SIZES = {200: "results[:200] if execute else []", 2000: "results[:2000] if execute else []",
         10000: "(results * 5)[:10000] if execute else []"}
ANSI = re.compile(r"\x1b\[[0-9;]*m")
SUMMARY = re.compile(r"upload_run_results: uploaded (\d+) node results and 1 invocation in (\d+) statements "
                     r"\(largest (\d+) chars\) in ([0-9.]+) s \(([0-9.]+) s building rows\)")
HOOK_LINE = re.compile(r"OK hook: \S+\.on-run-end\.(\d+) \.* \[OK in ([0-9.]+)s\]")


@dataclass
class UploadFigure:
    rows: int
    statements: int
    largest_chars: int
    upload_s: float
    rows_s: float
    hook_s: float


def _env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW_CTX_", "DBT_CLOUD_", "GITHUB_", "DBT_PIPELINE_"))}
    env.update({"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "BENCH_DB": str(db)})
    return env


def _dbt(root: Path, db: Path, *args: str) -> tuple[str, float]:
    started = time.perf_counter()
    result = subprocess.run(
        [str(BIN / "dbt"), *args, "--profiles-dir", str(root), "--no-use-colors"],
        cwd=root, env=_env(db), capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"dbt {' '.join(args)} failed in {root}:\n"
                         f"{result.stdout[-4000:]}\n{result.stderr[-2000:]}")
    return ANSI.sub("", result.stdout), seconds


def _write_project(root: Path, models: int, materialized: str, hooks: list[str]) -> None:
    write_bulk_project(root, package=REPO, project=PROJECT, models=models, materialized=materialized,
                       on_run_end=[f"{{{{ {hook} }}}}" for hook in hooks], db_env_var="BENCH_DB")


def upload_scaling(workdir: Path) -> dict[int, UploadFigure]:
    """a. One run of 2,000 trivial models whose on-run-end uploads 200, 2,000 and 10,000 results."""
    root, db = workdir / "scaling", workdir / "scaling.duckdb"
    _write_project(root, 2000, "select_one", [HOOK.format(expr) for expr in SIZES.values()])
    _dbt(root, db, "deps")
    _dbt(root, db, "run", "--select", "dbt_pipeline_costs.run_results")  # create the two tables
    output, _ = _dbt(root, db, "run")
    summaries = SUMMARY.findall(output)
    hook_seconds = {int(index): float(s) for index, s in HOOK_LINE.findall(output)}
    if len(summaries) != len(SIZES) or len(hook_seconds) != len(SIZES):
        raise SystemExit(f"expected {len(SIZES)} upload summaries and hook lines:\n{output[-4000:]}")
    figures = {}
    for index, (size, summary) in enumerate(zip(SIZES, summaries, strict=True)):
        rows, statements, largest, upload_s, rows_s = summary
        figures[size] = UploadFigure(int(rows), int(statements), int(largest), float(upload_s), float(rows_s),
                                     hook_seconds[index])
        if int(rows) != size:
            raise SystemExit(f"upload of {size} results reported {rows} rows")
    return figures


def build_overhead(workdir: Path, models: int, repeats: int) -> tuple[list[float], list[float], list[float]]:
    """b. `dbt build` wall time of `models` view models, with and without the hook; and the hook's
    own time in each build with it (dbt's timing of the on-run-end hook)."""
    variants = {"with": [HOOK.format("results")], "without": []}
    times: dict[str, list[float]] = {name: [] for name in variants}
    hook_times: list[float] = []
    for name, hooks in variants.items():
        root = workdir / f"build_{name}"
        _write_project(root, models, "view", hooks)
        _dbt(root, workdir / f"build_{name}.duckdb", "deps")
        _dbt(root, workdir / f"build_{name}.duckdb", "parse")  # partial parsing from here on, both alike
    for repeat in range(repeats):
        for name in (list(variants) if repeat % 2 == 0 else list(variants)[::-1]):  # alternate the order
            root = workdir / f"build_{name}"
            output, seconds = _dbt(root, workdir / f"build_{name}.duckdb", "build")
            times[name].append(seconds)
            hook_times += [float(s) for _, s in HOOK_LINE.findall(output)]
    return times["with"], times["without"], hook_times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=2000, help="view models in the build comparison (b)")
    parser.add_argument("--repeats", type=int, default=2, help="builds per variant in (b); best is reported")
    parser.add_argument("--workdir", type=Path, help="where to generate the projects (default: a temp dir)")
    parser.add_argument("--skip-build", action="store_true", help="only (a), the upload figures")
    args = parser.parse_args(argv)

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="benchmark_upload_"))
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"projects in {workdir}")

    figures = upload_scaling(workdir)
    print("\n(a) upload_run_results on DuckDB (one dbt run; real result objects)")
    print(f"{'node results':>12} | {'statements':>10} | {'largest stmt':>12} | {'upload s':>8} | "
          f"{'rows s':>7} | {'hook s (dbt)':>12} | {'ms / result':>11}")
    for size, f in figures.items():
        print(f"{size:>12,} | {f.statements:>10} | {f.largest_chars:>12,} | {f.upload_s:>8.3f} | "
              f"{f.rows_s:>7.3f} | {f.hook_s:>12.2f} | {1000 * f.upload_s / size:>11.3f}")

    if args.skip_build:
        return
    with_hook, without_hook, hook_times = build_overhead(workdir, args.models, args.repeats)
    best_with, best_without = min(with_hook), min(without_hook)
    print(f"\n(b) dbt build of {args.models:,} view models on DuckDB, wall seconds (best of {args.repeats})")
    print(f"{'variant':>12} | {'runs':>24} | {'best':>7}")
    print(f"{'with hook':>12} | {', '.join(f'{s:.1f}' for s in with_hook):>24} | {best_with:>7.2f}")
    print(f"{'without hook':>12} | {', '.join(f'{s:.1f}' for s in without_hook):>24} | {best_without:>7.2f}")
    print(f"ratio with / without: {best_with / best_without:.3f} "
          f"({100 * (best_with / best_without - 1):+.1f}% wall time; run-to-run noise included)")
    print(f"the hook inside those builds: {', '.join(f'{s:.2f}' for s in hook_times)} s "
          f"= {100 * max(hook_times) / best_with:.2f}% of the best build")


if __name__ == "__main__":
    main()
