"""`python -m sandbox.dataverse serve|dump|counts`: run or inspect the local Dataverse."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .protection import CostModel, FaultConfig, ProtectionConfig, SpecError
from .server import serve_forever
from .service import DEFAULT_SEED_FILE, Dataverse, ServerConfig
from .store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox.dataverse", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the local Dataverse Web API over HTTPS")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8443, help="0 picks a free port")
    serve.add_argument("--data-dir", type=Path, default=Path("var/dataverse"))
    serve.add_argument("--reset", action="store_true", help="empty the database before starting")
    serve.add_argument(
        "--seed", type=Path, default=DEFAULT_SEED_FILE, help="systemusers/teams JSON"
    )
    serve.add_argument("--tenant", default="local")
    serve.add_argument(
        "--protection",
        default="off",
        help="off | default | requests=N,window=S,execution=S,concurrent=N,dop=N,scale=X",
    )
    serve.add_argument(
        "--cost-model",
        default="off",
        help="off | calibrated[,scale=X] | request=MS,record=MS,scale=X",
    )
    serve.add_argument(
        "--faults", default="off", help="off | seed=N,5xx=RATE,drop=RATE,slow=RATE,slow_seconds=S"
    )
    serve.add_argument("--key-activation-seconds", type=float, default=1.0)
    for name, text in (
        ("dump", "every record as sorted JSON lines"),
        ("counts", "records per table"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("--data-dir", type=Path, default=Path("var/dataverse"))
    return parser


def _serve(args: argparse.Namespace) -> int:
    try:
        config = ServerConfig(
            data_dir=args.data_dir,
            host=args.host,
            port=args.port,
            tenant=args.tenant,
            reset=args.reset,
            seed_file=args.seed,
            protection=ProtectionConfig.from_spec(args.protection),
            cost_model=CostModel.from_spec(args.cost_model),
            faults=FaultConfig.from_spec(args.faults),
            key_activation_seconds=args.key_activation_seconds,
        )
    except SpecError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"local Dataverse on https://{args.host}:{args.port} (CA: {args.data_dir / 'ca.pem'})")
    serve_forever(config)
    return 0


def _open_store(data_dir: Path) -> Store | None:
    if not (data_dir / "dataverse.sqlite").exists():
        print(f"error: no local Dataverse database in {data_dir}", file=sys.stderr)
        return None
    return Store(data_dir)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    store = _open_store(args.data_dir)
    if store is None:
        return 1
    try:
        if args.command == "dump":
            for line in store.dump_lines():
                print(line)
        else:
            print(json.dumps(store.counts(), indent=2, sort_keys=True))
    finally:
        store.close()
    return 0


# Dataverse is imported for callers that want the organisation without HTTP (tests, the demo).
__all__ = ["Dataverse", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
