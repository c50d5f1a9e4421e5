"""OpenCRM stand-in: a deterministic generator of OpenCRM CSV exports (full and delta)."""

from sandbox.opencrm.delta import make_delta
from sandbox.opencrm.generator import ExportSummary, GeneratorError, generate, generate_export

__all__ = ["ExportSummary", "GeneratorError", "generate", "generate_export", "make_delta"]
