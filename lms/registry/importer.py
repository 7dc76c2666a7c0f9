"""Placeholder replaced by the importer work in progress."""


class ImportRefused(ValueError):
    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field
