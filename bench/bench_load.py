"""The loader against the local Dataverse at Dataverse's default service protection limits and the
calibrated server-cost model (70 ms a request + 6.5 ms a record, research §3), time-compressed.

In one run, on the same generated accounts:

  * the loader's records/min (in simulated time) against the model's bounds (see `bounds`):
      - the bound (the target): N records / the shortest time in which any client could load
        N records into an empty window under the model's admission rule, with requests of at
        most --max-batch-size (1,000) records;
      - for reference, the same-elapsed-time bound (the most any client could load in the
        loader's own elapsed time) and the steady execution-time bound (1,200 s / 300 s) / 6.5 ms
        = 36,923 records/min, which a run that starts from an empty window can beat;
  * Microsoft's Python SDK (PowerPlatform-Dataverse-Client) loading the same records into the same
    server: `records.create(table, list)` sequentially, 1,000 records a call (it sends one request
    per list and does not retry 429s, so this script waits out Retry-After for it): the peer ratio;
  * loader CPU time per record and peak memory (RSS) at growing record counts, each in a fresh
    process, with the cost model off so the loader is the bottleneck: memory should stay flat.

The server runs in its own process. Figures go to docs/benchmarks.md by hand.

    python bench/bench_load.py [--records 300000] [--memory 100000,250000,500000,1000000]

Time compression: at --scale 10 the loader and the local Dataverse must move ten times as many
records per wall-clock second as in real time; in the bursts the model allows (52 requests of
1,000 records every 6.57 s) that is ~80,000 records a second, more than two shared cores can build,
send and store, so the figures would measure the machine, not the pacing. Use --scale 1 (real
time) for the throughput figures; compression is fine for the memory runs (cost model off).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLIENT_ID = "51f81489-12ee-4a9e-aaae-a2591f45987d"
CLIENT_SECRET = "local-dataverse-dev-secret"  # public development value of the emulator
PER_REQUEST_MS, PER_RECORD_MS = 70.0, 6.5
WINDOW, EXECUTION, CONCURRENT = 300.0, 1200.0, 52
MAX_BATCH = 1000  # records per UpsertMultiple: the loader's --max-batch-size, Microsoft's 100-1,000

MANIFEST = {
    "nodes": {
        "model.bench.dv_account": {
            "resource_type": "model",
            "name": "dv_account",
            "unique_id": "model.bench.dv_account",
            "schema": "main",
            "alias": "dv_account",
            "config": {
                "enabled": True,
                "meta": {
                    "dataverse": {
                        "table": "account",
                        "entity_set": "accounts",
                        "primary_key": "accountid",
                        "source_key": "mig_sourcekey",
                        "root": True,
                        "custom_columns": [
                            {"name": "mig_sourcekey", "type": "String", "max_length": 100}
                        ],
                    }
                },
            },
        }
    }
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(data_dir: Path, port: int, protection: str, cost: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "sandbox.dataverse", "serve", "--port", str(port)]
    command += ["--data-dir", str(data_dir), "--reset", "--protection", protection]
    command += ["--cost-model", cost]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def env_for(port: int, data_dir: Path) -> dict[str, str]:
    return {
        "DATAVERSE_URL": f"https://127.0.0.1:{port}",
        "DATAVERSE_AUTHORITY": f"https://127.0.0.1:{port}/local",
        "DATAVERSE_CLIENT_ID": CLIENT_ID,
        "DATAVERSE_CLIENT_SECRET": CLIENT_SECRET,
        "DATAVERSE_CA_BUNDLE": str(data_dir / "ca.pem"),
    }


def make_warehouse(folder: Path, records: int, offset: int = 0) -> None:
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "target").mkdir(exist_ok=True)
    (folder / "target" / "manifest.json").write_text(json.dumps(MANIFEST))
    with duckdb.connect(str(folder / "migration.duckdb")) as con:
        con.execute(
            """
            create or replace table main.dv_account as
            select lower(uuid_string) as accountid, name, mig_sourcekey, telephone1,
                   revenue, description
            from (
                select md5('bench|account|' || (i + ?))::uuid::varchar as uuid_string,
                       'Account ' || (i + ?) || ' Ltd' as name,
                       'bench:account:' || (i + ?) as mig_sourcekey,
                       '+44 20 7946 ' || lpad((i % 10000)::varchar, 4, '0') as telephone1,
                       ((i * 37) % 100000)::decimal(18, 2) as revenue,
                       repeat('x', 40) as description
                from range(?) as t(i)
            )
            """,
            [offset, offset, offset, records],
        )


def paths_for(folder: Path):  # noqa: ANN201
    from load.config import LoadPaths

    return LoadPaths(
        duckdb=folder / "migration.duckdb",
        ledger=folder / "ledger.duckdb",
        manifest=folder / "target" / "manifest.json",
        reports=folder / "reports",
    )


def run_loader(folder: Path, env: dict[str, str], max_concurrency: int) -> dict:
    from load.config import DataverseSettings
    from load.runner import LoadOptions, run_load

    settings = DataverseSettings.from_env(env)
    options = LoadOptions(batch_size=100, max_batch_size=1000, max_concurrency=max_concurrency)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    result = run_load(settings, paths=paths_for(folder), options=options)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    loaded = sum(t.loaded for t in result.tables.values())
    return {"records": loaded, "failed": result.failed, "wall": wall, "cpu": cpu, **result.stats}


def run_sdk(port: int, data_dir: Path, records: int, offset: int, chunk: int = 1000) -> dict:
    """Microsoft's SDK, sequential CreateMultiple of `chunk` records; 429s waited out here."""
    import certifi
    import msal
    import requests
    from azure.core.credentials import AccessToken, TokenCredential
    from PowerPlatform.Dataverse.client import DataverseClient

    class Credential(TokenCredential):
        def __init__(self) -> None:
            session = requests.Session()
            session.trust_env = False
            session.verify = str(data_dir / "ca.pem")
            self.app = msal.ConfidentialClientApplication(
                CLIENT_ID,
                client_credential=CLIENT_SECRET,
                authority=f"https://127.0.0.1:{port}/local",
                instance_discovery=False,
                http_client=session,
            )

        def get_token(self, *scopes: str, **kwargs: object) -> AccessToken:
            token = self.app.acquire_token_for_client(list(scopes))
            return AccessToken(token["access_token"], int(time.time()) + int(token["expires_in"]))

    bundle = data_dir / "bundle.pem"
    bundle.write_text(Path(certifi.where()).read_text() + "\n" + (data_dir / "ca.pem").read_text())
    os.environ["REQUESTS_CA_BUNDLE"] = str(bundle)
    client = DataverseClient(f"https://127.0.0.1:{port}", Credential())
    rows = [
        {"name": f"Account {i} Ltd", "telephone1": "+44 20 7946 0000", "revenue": float(i % 1000),
         "description": "x" * 40}
        for i in range(offset, offset + records)
    ]  # fmt: skip
    throttled = 0
    wall0 = time.perf_counter()
    for start in range(0, records, chunk):
        while True:
            try:
                client.records.create("account", rows[start : start + chunk])
                break
            except Exception as error:  # the SDK raises HttpError(is_transient, retry_after)
                retry_after = getattr(error, "retry_after", None)
                if retry_after is None and "429" not in str(error):
                    raise
                throttled += 1
                time.sleep(float(retry_after or 1))
    return {"records": records, "wall": time.perf_counter() - wall0, "throttles": throttled}


def request_cost(records: int) -> float:
    """Server seconds one request of `records` costs (CostModel.calibrated())."""
    return (PER_REQUEST_MS + PER_RECORD_MS * records) / 1000


def most_records(seconds: float, batch: int = MAX_BATCH) -> float:
    """An upper bound on the records any client can have loaded `seconds` after starting from an
    empty window, under the local Dataverse's rules (sandbox/dataverse/protection.py):

      (a) a request is admitted only while fewer than C = 52 are in flight, and only while the
          server time of the requests that *finished* in the last W = 300 s is under E = 1,200 s
          (the server charges a request when it ends, as Dataverse measures it after the fact);
      (b) a request of n <= B records holds its slot for c(n) = 70 ms + n * 6.5 ms.

    From (a): take any W-long interval and the last admission of a request finishing in it.
    What finished in the interval before that admission was under E (or the request would have
    been refused); what finished after it was in flight at that moment: at most C requests of at
    most c(B) each. So every W-long interval holds less than Q = E + C * c(B) of server time.
    From (a) and (b): no more than C * t of server time can have finished by time t. Splitting
    [0, t] into k = t // W whole windows and a remainder r (whose requests may have started up
    to c(B) before it): server time(t) <= min(C * t, k * Q + min(Q, C * (r + c(B)))). Records
    are at most server time / c(B) * B (the per-request 70 ms is least per record at n = B)."""
    cost = request_cost(batch)
    quota = EXECUTION + CONCURRENT * cost
    whole, rest = divmod(seconds, WINDOW)
    server = min(CONCURRENT * seconds, whole * quota + min(quota, CONCURRENT * (rest + cost)))
    return server / cost * batch


def shortest_seconds(records: int, batch: int = MAX_BATCH) -> float:
    """A lower bound on the time any client needs to load `records` from an empty window: the
    least t with most_records(t) >= records (most_records is non-decreasing in t)."""
    low, high = 0.0, WINDOW * (records / most_records(WINDOW, batch) + 2)
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (low, middle) if most_records(middle, batch) >= records else (middle, high)
    return high


def bounds(records: int, simulated_seconds: float) -> dict[str, float]:
    steady = 60 * (EXECUTION / WINDOW) / (PER_RECORD_MS / 1000)
    shortest = shortest_seconds(records)
    return {
        "bound_seconds": shortest,
        "bound_per_min": 60 * records / shortest,
        "same_time_bound_per_min": 60 * most_records(simulated_seconds) / simulated_seconds,
        "steady_bound_per_min": steady,
    }


def greedy_client(records: int, batch: int = MAX_BATCH) -> float:
    """Seconds a clairvoyant client needs for `records` on the same rules: zero latency and CPU,
    always C requests of B records in flight whenever the server would admit them, resent the
    instant the window frees up (no whole-second Retry-After). It is a schedule the model does
    admit, so the true optimum lies between shortest_seconds and this."""
    import heapq

    cost = request_cost(batch)
    finished: list[float] = []  # completion times in the window (each charged `cost`)
    in_flight: list[float] = []  # completion times of admitted requests
    now, sent, done = 0.0, 0, 0
    while done < records:
        start = 0
        while finished and finished[start] <= now - WINDOW:
            start += 1
        finished = finished[start:]
        if len(in_flight) < CONCURRENT and sent < records and len(finished) * cost < EXECUTION:
            size = min(batch, records - sent)
            heapq.heappush(in_flight, now + request_cost(size))
            sent += size
            continue
        # next event: a completion, or the oldest charge leaving the window
        events = [in_flight[0]] if in_flight else []
        if finished and len(finished) * cost >= EXECUTION:
            events.append(finished[0] + WINDOW + 1e-9)
        now = max(now, min(events))
        while in_flight and in_flight[0] <= now:
            heapq.heappop(in_flight)
            finished.append(now)
            done += batch
    return now


def throughput(args: argparse.Namespace, work: Path) -> dict:
    port = free_port()
    data_dir = work / "dataverse"
    protection = f"requests=6000,window=300,execution=1200,concurrent=52,dop=4,scale={args.scale}"
    server = start_server(data_dir, port, protection, f"calibrated,scale={args.scale}")
    try:
        env = env_for(port, data_dir)
        make_warehouse(work / "loader", args.records)
        server_cpu0 = cpu_seconds(server.pid)
        loader = run_loader(work / "loader", env, args.max_concurrency)
        loader["server_cpu"] = cpu_seconds(server.pid) - server_cpu0
        # The SDK is sequential (never throttled: ~1 s of server time a second, under the 4 s
        # budget), so its rate does not depend on the count: a slice keeps the run short.
        sdk_records = min(args.records, args.sdk_records)
        sdk = run_sdk(port, data_dir, sdk_records, offset=10_000_000)
    finally:
        server.terminate()
        server.wait(10)
    out: dict = {"scale": args.scale, "records": args.records}
    for name, figures in (("loader", loader), ("sdk", sdk)):
        simulated = figures["wall"] * args.scale
        figures["simulated_seconds"] = simulated
        figures["records_per_min"] = 60 * figures["records"] / simulated
        out[name] = figures
    figures = out["loader"]
    figures |= bounds(figures["records"], figures["simulated_seconds"])
    for bound in ("bound", "same_time_bound", "steady_bound"):
        figures[f"vs_{bound}"] = figures["records_per_min"] / figures[f"{bound}_per_min"]
    out["sdk"]["vs_steady_bound"] = out["sdk"]["records_per_min"] / figures["steady_bound_per_min"]
    out["greedy_client_seconds"] = greedy_client(args.records)
    out["greedy_client_vs_bound"] = out["loader"]["bound_seconds"] / out["greedy_client_seconds"]
    out["loader"]["cpu_ms_per_record"] = 1000 * loader["cpu"] / max(1, loader["records"])
    out["peer_ratio"] = out["loader"]["records_per_min"] / out["sdk"]["records_per_min"]
    return out


def memory(sizes: list[int], work: Path, concurrency: int) -> list[dict]:
    port = free_port()
    data_dir = work / "dataverse-mem"
    server = start_server(data_dir, port, "off", "off")
    results = []
    try:
        env = env_for(port, data_dir)
        offset = 0
        for size in sizes:
            folder = work / f"mem-{size}"
            make_warehouse(folder, size, offset=offset)
            offset += size
            child = subprocess.run(
                [sys.executable, __file__, "--child", str(folder), "--memory-concurrency",
                 str(concurrency)],
                env={**os.environ, **env}, cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            results.append({"records": size, **json.loads(child.stdout.strip().splitlines()[-1])})
    finally:
        server.terminate()
        server.wait(10)
    return results


def child(folder: Path, concurrency: int) -> None:
    """One loader run in a fresh process: CPU per record and peak RSS."""
    from load.config import DataverseSettings

    samples: list[float] = []
    stop = threading.Event()

    def sample() -> None:  # RSS every 0.1 s: the steady level, beside the peak
        page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not stop.wait(0.1):
            samples.append(int(Path("/proc/self/statm").read_text().split()[1]) * page_mb)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    figures = run_loader(folder, dict(os.environ), concurrency)
    stop.set()
    sampler.join()
    # The level over the second half of the load (the first fills fixed-size buffers).
    steady = sorted(samples[len(samples) // 2 :]) or [0.0]
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over execve from the parent's peak.
    status = Path("/proc/self/status")
    hwm = [line for line in status.read_text().splitlines() if line.startswith("VmHWM")]
    rss_mb = (
        int(hwm[0].split()[1]) / 1024
        if hwm
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    _ = DataverseSettings
    print(
        json.dumps(
            {
                "loaded": figures["records"],
                "cpu_ms_per_record": 1000 * figures["cpu"] / max(1, figures["records"]),
                "peak_rss_mb": round(rss_mb, 1),
                "median_rss_mb_second_half": round(steady[len(steady) // 2], 1),
                "wall": round(figures["wall"], 2),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--records", type=int, default=300_000)
    parser.add_argument("--scale", type=float, default=1.0, help="time compression (60 = 1 h/min)")
    parser.add_argument("--max-concurrency", type=int, default=52)
    parser.add_argument("--sdk-records", type=int, default=30_000, help="records for the SDK")
    parser.add_argument(
        "--memory",
        default="100000,250000,500000,1000000",
        help="record counts for the memory run (each in a fresh loader process)",
    )
    parser.add_argument(
        "--memory-concurrency",
        type=int,
        default=8,
        help="senders in the memory run (cost model off: the loader runs flat out)",
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.memory_concurrency)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-load-"))
    try:
        report = {"throughput": throughput(args, work) if args.records else {}}
        sizes = [int(n) for n in args.memory.split(",") if n]
        report["memory"] = memory(sizes, work, args.memory_concurrency) if sizes else []
        if report["memory"]:
            # Flat in the record count: each peak against the largest run's.
            largest = report["memory"][-1]["peak_rss_mb"]
            for row in report["memory"]:
                row["peak_vs_largest"] = round(row["peak_rss_mb"] / largest, 3)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
