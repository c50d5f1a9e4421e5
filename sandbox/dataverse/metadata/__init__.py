"""Table metadata of the local Dataverse, built from Microsoft's reference files.

`tables/<logicalname>.json` is written by `python -m sandbox.dataverse.metadata.build_metadata`
(see PROVENANCE.md); never edit those files by hand.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

TABLES_DIR = Path(__file__).resolve().parent / "tables"


def load_table_metadata(directory: Path = TABLES_DIR) -> dict[str, dict[str, Any]]:
    """Logical name -> table document, for every committed table file."""
    return {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(directory.glob("*.json"))
    }
