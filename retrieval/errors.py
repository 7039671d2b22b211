"""Errors the answer core raises; the edge (CLI, bot) turns each into one Chinese sentence.

    FazhiError                      base: something the user should be told about
    ├── ReportError                 a file that cannot become a report
    │   ├── UnsupportedFormatError  .doc, images, binaries, unknown endings
    │   ├── NoTextError             empty file, scanned PDF without a text layer
    │   └── MissingMetadataError    town or year cannot be determined
    ├── IndexBusyError              another process holds the index lock
    └── UnknownReportError          no report of that town and year to remove
"""


class FazhiError(Exception):
    """Base class: an expected failure with a message for the user."""


class ReportError(FazhiError):
    """A file that cannot become a report."""


class UnsupportedFormatError(ReportError):
    """The file type cannot be read (``suffix`` says which)."""

    def __init__(self, suffix: str) -> None:
        super().__init__(suffix)
        self.suffix = suffix


class NoTextError(ReportError):
    """The file holds no readable text."""


class MissingMetadataError(ReportError):
    """Town or year could not be found; ``missing`` lists which (\"town\", \"year\")."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__(", ".join(missing))
        self.missing = missing


class IndexBusyError(FazhiError):
    """Another writer holds the index lock."""


class UnknownReportError(FazhiError):
    """No report of that town and year is indexed."""
