"""``python -m sandbox.opencrm generate|delta``: write OpenCRM CSV exports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.opencrm.delta import make_delta
from sandbox.opencrm.generator import MAX_DEFECT_RATE, GeneratorError, generate_export


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.opencrm",
        description="Deterministic OpenCRM CSV exports with realistic defects.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    full = commands.add_parser("generate", help="write a full export (six CSV files)")
    full.add_argument("--out", type=Path, required=True, help="folder to write the files into")
    full.add_argument("--contacts", type=int, default=200, help="contacts; other files scale")
    full.add_argument("--seed", type=int, default=42)
    full.add_argument(
        "--defect-rate",
        type=float,
        default=0.05,
        help=f"share of rows hit by each defect kind (0 to {MAX_DEFECT_RATE:.2f})",
    )
    full.add_argument("--manifest", type=Path, help="also write the injected defects as JSON here")
    delta = commands.add_parser(
        "delta", help="write a newer export: ~2%% new, ~3%% edited, ~1%% deleted"
    )
    delta.add_argument("--base", type=Path, required=True, help="folder of the older export")
    delta.add_argument(
        "--out", type=Path, required=True, help="folder to write the newer export into"
    )
    delta.add_argument("--seed", type=int, default=43)
    delta.add_argument(
        "--defect-rate", type=float, default=0.05, help="defect rate of the new records"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            summary = generate_export(args.out, args.contacts, args.seed, args.defect_rate)
            if args.manifest:
                args.manifest.parent.mkdir(parents=True, exist_ok=True)
                args.manifest.write_text(summary.to_json(), encoding="utf-8")
            rows = summary.rows
        else:
            rows = make_delta(args.base, args.out, args.seed, args.defect_rate)
    except GeneratorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for file_name, count in rows.items():
        print(f"{file_name:<20} {count:>10,} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
