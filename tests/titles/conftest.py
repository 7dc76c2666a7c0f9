from __future__ import annotations

from collections.abc import Iterator

import pytest

from lms.titles import engine


@pytest.fixture(autouse=True)
def _fresh_scores() -> Iterator[None]:
    """The engine keeps scored combinations of inputs for the process's life (ADR 40): each test starts without
    them, so a test that replaces part of the scorer (a failure injected) reaches it."""
    engine.forget_scores()
    yield
    engine.forget_scores()
