"""Benchmark: our dlt extract vs DuckDB's own ``read_csv`` over the same OpenCRM export.

    .venv/bin/python bench/bench_extract.py --contacts 1000000
    .venv/bin/python bench/bench_extract.py --export /tmp/opencrm1m --skip-dbt   # reuse an export

Generates the export (or reuses the one ``--export`` names, which is never deleted), then
measures each reader in a fresh process writing a fresh DuckDB file: wall time, and peak memory
from ``getrusage(RUSAGE_CHILDREN)`` taken by a small wrapper process that runs exactly one reader
(so one measurement never inherits another's peak). Prints both and the ratio (target: extract
within 2x of DuckDB's reader). Not a test; figures go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

# DuckDB cannot decode cp1252 without its `encodings` extension (a download; its latin-1 decoder
# rejects 0x80-0x9F), so the DuckDB run transcodes those files to UTF-8 first, inside its timing:
# that is the work any reader of this export has to do.
CP1252_FILES = ("Companies.csv",)
EXPORT_FILES = {
    "Companies.csv": "companies",
    "Contacts.csv": "contacts",
    "Opportunities.csv": "opportunities",
    "Activities.csv": "activities",
    "Notes.csv": "notes",
    "Users.csv": "users",
}


def run_dlt_extract(export_dir: Path, database: Path) -> dict[str, int]:
    from extract.opencrm import run_extract

    return run_extract(export_dir, database).rows


def transcode_to_utf8(source: Path, target: Path, encoding: str) -> None:
    with (
        source.open("r", encoding=encoding, newline="") as reader,
        target.open("w", encoding="utf-8", newline="") as writer,
    ):
        shutil.copyfileobj(reader, writer, 4 * 1024 * 1024)


def run_duckdb_read_csv(export_dir: Path, database: Path) -> dict[str, int]:
    import duckdb

    rows = {}
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema raw_opencrm")
        for file_name, table in EXPORT_FILES.items():
            path = export_dir / file_name
            if file_name in CP1252_FILES:
                utf8_copy = database.with_name(f"{path.stem}.utf8.csv")
                transcode_to_utf8(path, utf8_copy, "cp1252")
                path = utf8_copy
            connection.execute(
                f"create table raw_opencrm.{table} as select * from read_csv(?, header = true,"
                " all_varchar = true, delim = ',', quote = '\"', escape = '\"')",
                [str(path)],
            )
            rows[table] = connection.execute(
                f"select count(*) from raw_opencrm.{table}"
            ).fetchone()[0]
    return rows


def seed_dataverse_users(database: Path) -> None:
    """raw_dataverse as `crm-migrate extract dataverse-users` lands it, from the local Dataverse's
    seed file: the owners dbt resolves against (a few rows; read from the seed, not over HTTPS,
    so the benchmark times dbt alone)."""
    import duckdb

    seed = json.loads((PROJECT_ROOT / "sandbox" / "dataverse" / "seed.json").read_text())
    users = [
        (
            u["systemuserid"],
            f"{u.get('firstname') or ''} {u.get('lastname') or ''}".strip(),
            u.get("internalemailaddress"),
            bool(u.get("isdisabled")),
            u.get("accessmode", 0),
            u.get("azureactivedirectoryobjectid"),
        )
        for u in seed["systemusers"]
    ]
    teams = [(t["teamid"], t["name"], t["teamtype"], t["isdefault"]) for t in seed["teams"]]
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema if not exists raw_dataverse")
        connection.execute(
            "create or replace table raw_dataverse.systemusers (systemuserid varchar,"
            " fullname varchar, internalemailaddress varchar, isdisabled boolean,"
            " accessmode bigint, azureactivedirectoryobjectid varchar)"
        )
        connection.executemany("insert into raw_dataverse.systemusers values (?,?,?,?,?,?)", users)
        connection.execute(
            "create or replace table raw_dataverse.teams (teamid varchar, name varchar,"
            " teamtype bigint, isdefault boolean)"
        )
        connection.executemany("insert into raw_dataverse.teams values (?,?,?,?)", teams)


def run_dbt_build(export_dir: Path, database: Path) -> dict[str, int]:
    """`dbt build` (every model and test) over the warehouse the dlt extract wrote."""
    import duckdb

    seed_dataverse_users(database)
    target = database.with_name("dbt-target")
    env = {**os.environ, "MIGRATE_DUCKDB": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    dbt = str(Path(sys.executable).parent / "dbt")
    command = [dbt, "build", "--profiles-dir", "profiles", "--target-path", str(target)]
    completed = subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    if completed.returncode != 0:
        sys.stderr.write(completed.stdout[-5000:])
        raise SystemExit("dbt build failed")
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            table: connection.execute(f"select count(*) from main.{table}").fetchone()[0]
            for table in ("dv_account", "dv_contact", "dv_opportunity", "dv_task")
        }


READERS = {"dlt": run_dlt_extract, "duckdb": run_duckdb_read_csv, "dbt": run_dbt_build}


def worker(reader: str, export_dir: Path, database: Path) -> None:
    """Run one reader; print its row counts as JSON."""
    print(json.dumps(READERS[reader](export_dir, database)))


def measure(reader: str, export_dir: Path, database: Path) -> None:
    """Run one worker process; print wall time, its peak RSS and its output as JSON."""
    started = time.perf_counter()
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            reader,
            "--export",
            str(export_dir),
            "--db",
            str(database),
        ],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    wall = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    if completed.returncode != 0:
        sys.stderr.write(completed.stderr)
        raise SystemExit(completed.returncode)
    rows = json.loads(completed.stdout.strip().splitlines()[-1])
    print(json.dumps({"wall_seconds": wall, "peak_rss_mib": peak_kib / 1024, "rows": rows}))


def run_measured(reader: str, export_dir: Path, database: Path, *, fresh: bool = True) -> dict:
    if fresh and database.exists():
        database.unlink()
    completed = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            reader,
            "--export",
            str(export_dir),
            "--db",
            str(database),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work-dir", type=Path, default=PROJECT_ROOT / "bench" / "out" / "extract")
    parser.add_argument(
        "--keep", action="store_true", help="keep the generated files and databases"
    )
    parser.add_argument("--skip-dbt", action="store_true", help="measure the extract only")
    parser.add_argument("--worker", choices=sorted(READERS), help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=sorted(READERS), help=argparse.SUPPRESS)
    parser.add_argument(
        "--export",
        type=Path,
        help="measure an existing export folder instead of generating one (it is kept)",
    )
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.export, args.db)
        return 0
    if args.measure:
        measure(args.measure, args.export, args.db)
        return 0

    from sandbox.opencrm import generate

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    work = args.work_dir
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if args.export is not None:
        export_dir = args.export.resolve()
        size_mib = sum(f.stat().st_size for f in export_dir.iterdir()) / 2**20
        print(f"reusing the export in {export_dir} ({size_mib:,.0f} MiB)")
    else:
        export_dir = work / "export"
        started = time.perf_counter()
        counts = generate(export_dir, contacts=args.contacts, seed=args.seed)
        generate_seconds = time.perf_counter() - started
        size_mib = sum(f.stat().st_size for f in export_dir.iterdir()) / 2**20
        total = sum(counts.values())
        print(
            f"generated {total:,} rows ({size_mib:,.0f} MiB) in {generate_seconds:.1f} s: {counts}"
        )

    duck = run_measured("duckdb", export_dir, work / "duckdb_read_csv.duckdb")
    ours = run_measured("dlt", export_dir, work / "dlt_extract.duckdb")
    if duck["rows"] != ours["rows"]:
        print(f"WARNING: row counts differ: duckdb {duck['rows']} vs dlt {ours['rows']}")
    print(f"{'reader':<22}{'wall s':>10}{'peak RSS MiB':>15}")
    print(f"{'DuckDB read_csv':<22}{duck['wall_seconds']:>10.2f}{duck['peak_rss_mib']:>15.0f}")
    print(f"{'dlt extract (ours)':<22}{ours['wall_seconds']:>10.2f}{ours['peak_rss_mib']:>15.0f}")
    ratio = ours["wall_seconds"] / duck["wall_seconds"]
    print(f"ratio dlt/DuckDB wall time: {ratio:.2f}x (target <= 2x)")
    if not args.skip_dbt:
        built = run_measured("dbt", export_dir, work / "dlt_extract.duckdb", fresh=False)
        print(
            f"{'dbt build (all tests)':<22}{built['wall_seconds']:>10.2f}"
            f"{built['peak_rss_mib']:>15.0f}   (target < 120 s)  marts: {built['rows']}"
        )
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
