"""Thin dispatcher: every subcommand module exposes `add_parser(subparsers)` and `run(args)`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from types import ModuleType

from pipeline_costs import generate, redash, report, summary

# Register new subcommands here (each module: add_parser(subparsers) -> parser, run(args) -> int).
SUBCOMMANDS: tuple[ModuleType, ...] = (generate, summary, report, redash)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline_costs",
        description="dbt_pipeline_costs tools: demo data, summary, report, Redash sync.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        sub = module.add_parser(subparsers)
        sub.set_defaults(handler=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)
