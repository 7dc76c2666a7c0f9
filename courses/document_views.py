"""Documents of the class programme (being written)."""

from courses import bp  # noqa: F401
