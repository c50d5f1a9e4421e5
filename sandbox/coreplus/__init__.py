"""CorePlus stand-in: a deterministic generator of Australian practice data and a REST API server
that behaves as the CorePlus API is documented (JwToken auth, 10 requests/s, paging envelope,
``updatedSince``, ``+10:00`` offsets, money as strings, mixed-case resource paths)."""

from sandbox.coreplus.generator import (
    RESOURCES,
    Dataset,
    DeltaSummary,
    apply_delta,
    generate_dataset,
    load_dataset,
    save_dataset,
)

__all__ = [
    "RESOURCES",
    "Dataset",
    "DeltaSummary",
    "apply_delta",
    "generate_dataset",
    "load_dataset",
    "save_dataset",
]
