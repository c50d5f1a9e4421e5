"""The operator's CLI and the orchestration that ties extract, dbt and the loader together."""
