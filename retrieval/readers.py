"""Report files → paragraphs of original text (one string per paragraph, in reading order)."""

from pathlib import Path

from retrieval.errors import NoTextError, UnsupportedFormatError

READABLE = (".txt", ".md")


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to GB18030 as saved by Chinese Windows editors."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnsupportedFormatError("binary")


def read_blocks(path: Path) -> list[str]:
    """Paragraphs of ``path``; raises a ``ReportError`` when the file cannot be read as a report."""
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise UnsupportedFormatError(suffix or "none")
    data = path.read_bytes()
    if b"\x00" in data:
        raise UnsupportedFormatError("binary")
    blocks = decode_text(data).splitlines()
    if not any(block.strip() for block in blocks):
        raise NoTextError(path.name)
    return blocks
