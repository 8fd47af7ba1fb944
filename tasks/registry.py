"""Registers: recommending units (推荐单位) and past excellent results (历年优秀成果).

The imports run from the command line (`qcamp units import`, `qcamp past-results import`), not in
a flow; these plain wrappers keep the `(added, …)` pairs for the demo and the benchmark."""

from __future__ import annotations

from pathlib import Path

from services import registry
from services.registry import ImportProblem
from storage.uow import UnitOfWork

__all__ = ["ImportProblem", "import_past_results", "import_units"]


def import_units(path: Path) -> tuple[int, int]:
    """(added, updated): `services.registry.import_units` in its own unit of work."""
    result = registry.import_units(UnitOfWork(), path)
    return result.added, result.updated


def import_past_results(path: Path) -> tuple[int, int]:
    """(added, already there): `services.registry.import_past_results` in its own unit of work."""
    result = registry.import_past_results(UnitOfWork(), path)
    return result.added, result.existing
