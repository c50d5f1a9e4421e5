"""Benchmark: the CorePlus extract against the stand-in at its documented 10 requests/s.

The bound is page size × 10 rows/s (the API serves at most 100 rows a page and 10 pages a
second). Reports rows/s of the whole extract (fetch, normalise, load into DuckDB) and of the fetch
alone, as a fraction of that bound; the target is ≥ 90%.

    .venv/bin/python bench/bench_coreplus_extract.py --clients 3000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from extract.coreplus import CorePlusSettings, run_extract  # noqa: E402
from sandbox.coreplus import generate_dataset  # noqa: E402
from sandbox.coreplus.api import (  # noqa: E402
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_CONSUMER_ID,
    DEFAULT_CONSUMER_SECRET,
    ApiConfig,
)
from sandbox.coreplus.server import start_background  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=3000)
    parser.add_argument("--resource", default="appointments", help="raw table to extract")
    parser.add_argument("--page-size", type=int, default=100)
    args = parser.parse_args()
    data = generate_dataset(args.clients, seed=42)
    server = start_background(data, ApiConfig(rate_limit=10))
    try:
        settings = CorePlusSettings(
            server.url,
            DEFAULT_CONSUMER_ID,
            DEFAULT_CONSUMER_SECRET,
            DEFAULT_ACCESS_TOKEN,
            page_size=args.page_size,
        )
        with tempfile.TemporaryDirectory() as folder:
            started = time.perf_counter()
            result = run_extract(settings, Path(folder) / "m.duckdb", resources=[args.resource])
            elapsed = time.perf_counter() - started
    finally:
        server.stop()
    rows = result.rows[args.resource]
    bound = args.page_size * 10
    fetch_seconds = (result.stats.pages - 1) / 10 / 0.97 + 0.05  # pacing floor, for reference
    print(f"resource            {args.resource}")
    print(f"rows                {rows:,} in {result.stats.pages} pages")
    print(f"requests            {result.stats.requests} ({result.stats.throttled} throttled)")
    print(f"elapsed             {elapsed:.2f} s (whole extract: fetch, normalise, load)")
    print(f"rows/s              {rows / elapsed:,.0f}")
    print(f"rate-limit bound    {bound:,} rows/s (page size {args.page_size} x 10/s)")
    print(f"fraction of bound   {rows / elapsed / bound:.1%}")
    print(f"pacing floor        {fetch_seconds:.2f} s for {result.stats.pages} pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
