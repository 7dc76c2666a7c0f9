"""The evaluation engine. (Scaffold: the engine is being built on branch wt-engine.)"""

from __future__ import annotations

from typing import Any


def evaluate_commune(commune_id: int, year: int) -> dict[str, Any]:
    """Evaluate every title for one commune and year, bottom-up, in the caller's transaction."""
    return {}
