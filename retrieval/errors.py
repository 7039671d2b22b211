"""Errors the answer core raises; the edge (CLI, bot) turns each into one Chinese sentence.

    FazhiError                      base: something the user should be told about
    ├── ReportError                 a file that cannot become a report
    │   ├── UnsupportedFormatError  .doc, images, binaries, unknown endings
    │   ├── NoTextError             empty file, scanned PDF without a text layer
    │   ├── MissingMetadataError    unit (town, district, bureau …) or year cannot be determined
    │   └── DuplicateReportError    two files of one batch are reports of the same unit and year
    ├── IndexBusyError              another process holds the index lock
    └── UnknownReportError          no report of that town and year to remove
"""


class FazhiError(Exception):
    """Base class: an expected failure with a message for the user."""


class ReportError(FazhiError):
    """A file that cannot become a report; ``source`` names the file where it is known."""

    source: str = ""


class UnsupportedFormatError(ReportError):
    """The file type cannot be read (``suffix`` says which)."""

    def __init__(self, suffix: str) -> None:
        super().__init__(suffix)
        self.suffix = suffix


class NoTextError(ReportError):
    """The file holds no readable text."""


class MissingMetadataError(ReportError):
    """Unit or year could not be found in ``source``; ``missing`` lists which (\"town\", \"year\")."""

    def __init__(self, missing: list[str], *, source: str = "") -> None:
        super().__init__(f"{source}: {', '.join(missing)}" if source else ", ".join(missing))
        self.missing = missing
        self.source = source


class DuplicateReportError(ReportError):
    """Two files of one batch (``sources``) resolve to the same ``unit`` and ``year``."""

    def __init__(self, sources: tuple[str, str], unit: str, year: int) -> None:
        super().__init__(f"{sources[0]}, {sources[1]}: {unit} {year}")
        self.sources = sources
        self.unit = unit
        self.year = year


class IndexBusyError(FazhiError):
    """Another writer holds the index lock."""


class UnknownReportError(FazhiError):
    """No report of that town and year is indexed."""
