"""The loader: marts in DuckDB → Dataverse Web API (httpx + msal), every operation ledgered.

Entry points: `load.runner.run_load`, `load.report.build_report` / `write_report` / `print_report`.
"""
