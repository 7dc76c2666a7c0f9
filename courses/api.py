"""The class programme under /api/v1 (being written)."""

from lms.api import bp  # noqa: F401
