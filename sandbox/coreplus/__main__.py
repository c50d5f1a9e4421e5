"""``python -m sandbox.coreplus generate|delta|serve``: the CorePlus stand-in from the shell."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from sandbox.coreplus.api import DEFAULT_ACCESS_TOKEN, DEFAULT_CONSUMER_ID, DEFAULT_CONSUMER_SECRET
from sandbox.coreplus.generator import (
    GeneratorError,
    apply_delta,
    generate_dataset,
    load_dataset,
    save_dataset,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox.coreplus",
        description="A CorePlus practice database and an API that serves it as CorePlus does.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="write a deterministic practice dataset")
    gen.add_argument("--out", type=Path, required=True, help="dataset file (.json.gz)")
    gen.add_argument("--clients", type=int, default=200, help="clients (1 to 100,000)")
    gen.add_argument("--seed", type=int, default=42)
    delta = commands.add_parser(
        "delta", help="apply two weeks of changes: new, edited and deleted clients and records"
    )
    delta.add_argument("--dataset", type=Path, required=True)
    delta.add_argument("--seed", type=int, default=43)
    serve = commands.add_parser("serve", help="serve a dataset on 127.0.0.1 until Ctrl-C")
    serve.add_argument("--dataset", type=Path, required=True)
    serve.add_argument("--port", type=int, default=8780)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "generate":
            data = generate_dataset(args.clients, args.seed)
            save_dataset(data, args.out)
            for key, rows in data.items():
                print(f"{key:<18} {len(rows):>10,} rows")
        elif args.command == "delta":
            data = load_dataset(args.dataset)
            summary = apply_delta(data, args.seed)
            save_dataset(data, args.dataset)
            for key, counts in summary.counts().items():
                print(f"{key:<18} {counts}")
        else:
            from sandbox.coreplus.server import serve_forever

            data = load_dataset(args.dataset)
            print(
                f"CorePlus stand-in on http://127.0.0.1:{args.port}/API/Core/v2/ "
                f"(consumer id {DEFAULT_CONSUMER_ID}, secret {DEFAULT_CONSUMER_SECRET}, "
                f"access token {DEFAULT_ACCESS_TOKEN})"
            )
            serve_forever(data, port=args.port)
    except GeneratorError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
