"""Throughput of the local Dataverse itself, with service protection off.

So that a loader benchmark measures the loader, not the emulator, the emulator must take
>= 20,000 records/s through CreateMultiple/UpsertMultiple and >= 1,000 single creates/s on a
2-core machine. This starts it in its own process (as the demo does not: a separate process keeps
the client's CPU out of the server's), then times, in one run:

  * CreateMultiple, 1,000 records a request;
  * UpsertMultiple by primary key creating records, then the same GUIDs again with changed values
    (updating every record);
  * UpsertMultiple by an alternate key (created on --key-column through the Metadata API) creating,
    then updating, records;
  * single POST creates, one client and several concurrent clients (keep-alive).

    python bench/bench_dataverse.py [--records 20000] [--singles 3000] [--table account]
"""

from __future__ import annotations

import argparse
import json
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msal
import requests

CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
CLIENT_SECRET = "local-dataverse-dev-secret"  # public development value of the emulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "sandbox.dataverse", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--reset"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (data_dir / "ca.pem").exists():
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return process
            except OSError:
                pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the local Dataverse did not start within 60 s")


def token(url: str, ca_file: Path) -> str:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(ca_file)
    app = msal.ConfidentialClientApplication(
        CLIENT_ID,
        client_credential=CLIENT_SECRET,
        authority=f"{url}/local",
        instance_discovery=False,
        http_client=session,
    )
    return app.acquire_token_for_client([f"{url}/.default"])["access_token"]


def client(url: str, ca_file: Path, bearer: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"{url}/api/data/v9.2/",
        verify=ssl.create_default_context(cafile=str(ca_file)),
        headers={
            "Authorization": f"Bearer {bearer}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "OData-MaxVersion": "4.0",
            "OData-Version": "4.0",
        },
        timeout=120,
    )


def record(
    table: str, name_column: str, n: int, with_id: str | None = None, revision: int = 0
) -> dict[str, object]:
    body: dict[str, object] = {
        "@odata.type": f"Microsoft.Dynamics.CRM.{table}",
        name_column: f"Bench record {n:07d}" + (f" r{revision}" if revision else ""),
        "description": "benchmark record " * 4 + (f"revision {revision}" if revision else ""),
    }
    if with_id:
        body["@odata.id"] = f"{with_id}"
    return body


def bulk(
    api: httpx.Client, entity_set: str, message: str, targets: list[dict[str, object]]
) -> None:
    response = api.post(f"{entity_set}/Microsoft.Dynamics.CRM.{message}", json={"Targets": targets})
    if response.status_code not in (200, 204):
        raise SystemExit(f"{message} failed: {response.status_code} {response.text[:500]}")


def time_bulk(
    api: httpx.Client, args: argparse.Namespace, message: str, by: str = "", revision: int = 0
) -> float:
    """Records/s through `message`; UpsertMultiple addresses records by primary key (`by="id"`) or
    by the alternate key on --key-column (`by="key"`); `revision` changes the values written."""
    entity_set, name_column, pk = args.entity_set, args.name_column, f"{args.table}id"
    started = time.perf_counter()
    for start in range(0, args.records, args.batch):
        targets = []
        for n in range(start, min(start + args.batch, args.records)):
            if by == "id":
                guid = uuid.uuid5(uuid.NAMESPACE_OID, f"bench:{n}")
                body = record(args.table, name_column, n, f"{entity_set}({guid})", revision)
                body[pk] = str(guid)
            elif by == "key":
                number = f"BENCH-{n:07d}"
                body = record(
                    args.table,
                    name_column,
                    n,
                    f"{entity_set}({args.key_column}='{number}')",
                    revision,
                )
                body[args.key_column] = number
            else:
                body = record(args.table, name_column, n)
            targets.append(body)
        bulk(api, entity_set, message, targets)
    return args.records / (time.perf_counter() - started)


def create_key(api: httpx.Client, args: argparse.Namespace) -> None:
    """An alternate key on --key-column, waited for until Active."""
    name = f"bench_{args.key_column}_key"
    response = api.post(
        f"EntityDefinitions(LogicalName='{args.table}')/Keys",
        json={"SchemaName": name, "KeyAttributes": [args.key_column]},
    )
    if response.status_code != 204:
        raise SystemExit(f"creating the key failed: {response.status_code} {response.text[:300]}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        keys = api.get(f"EntityDefinitions(LogicalName='{args.table}')/Keys").json()["value"]
        if any(k["SchemaName"] == name and k["EntityKeyIndexStatus"] == "Active" for k in keys):
            return
        time.sleep(0.1)
    raise SystemExit("the alternate key did not become Active within 60 s")


def time_singles(make_client, args: argparse.Namespace, workers: int) -> float:  # noqa: ANN001
    per_worker = args.singles // workers

    def work(worker: int) -> None:
        with make_client() as api:
            for n in range(per_worker):
                body = record(args.table, args.name_column, worker * 1_000_000 + n)
                body.pop("@odata.type")
                response = api.post(args.entity_set, json=body)
                if response.status_code != 204:
                    raise SystemExit(f"create failed: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(work, range(workers)))
    return per_worker * workers / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=20_000, help="records per bulk message run")
    parser.add_argument("--batch", type=int, default=1_000, help="records per bulk request")
    parser.add_argument("--singles", type=int, default=3_000, help="single creates per run")
    parser.add_argument("--table", default="account")
    parser.add_argument("--entity-set", default="accounts")
    parser.add_argument("--name-column", default="name")
    parser.add_argument("--key-column", default="accountnumber", help="alternate-key column")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir, port = Path(tmp), free_port()
        server = start_server(data_dir, port)
        try:
            url, ca_file = f"https://127.0.0.1:{port}", data_dir / "ca.pem"
            bearer = token(url, ca_file)
            with client(url, ca_file, bearer) as api:
                results = {
                    "create_multiple_records_per_s": time_bulk(api, args, "CreateMultiple"),
                    "upsert_multiple_records_per_s": time_bulk(api, args, "UpsertMultiple", "id"),
                    "upsert_multiple_updating_records_per_s": time_bulk(
                        api, args, "UpsertMultiple", "id", revision=1
                    ),
                }
                create_key(api, args)
                results["upsert_multiple_by_key_records_per_s"] = time_bulk(
                    api, args, "UpsertMultiple", "key"
                )
                results["upsert_multiple_by_key_updating_records_per_s"] = time_bulk(
                    api, args, "UpsertMultiple", "key", revision=1
                )
            make = lambda: client(url, ca_file, bearer)  # noqa: E731
            results["single_creates_per_s_1_client"] = time_singles(make, args, 1)
            results["single_creates_per_s_4_clients"] = time_singles(make, args, 4)
        finally:
            server.terminate()
            server.wait(timeout=30)
    targets = {
        "create_multiple_records_per_s": 20_000,
        "upsert_multiple_records_per_s": 20_000,
        "upsert_multiple_updating_records_per_s": 20_000,
        "upsert_multiple_by_key_records_per_s": 20_000,
        "upsert_multiple_by_key_updating_records_per_s": 20_000,
        "single_creates_per_s_1_client": 1_000,
        "single_creates_per_s_4_clients": 1_000,
    }
    print(f"local Dataverse throughput, protection off, table {args.table}")
    for name, value in results.items():
        ratio = value / targets[name]
        print(f"  {name:<46} {value:>10,.0f}   target {targets[name]:>6,}   ratio {ratio:.2f}")
    print(json.dumps({k: round(v) for k, v in results.items()}))


if __name__ == "__main__":
    main()
