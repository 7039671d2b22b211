"""The bundled default corpus: five township rule-of-law reports, kept exactly as exported."""

from importlib.resources import files
from pathlib import Path


def seed_paths() -> list[Path]:
    """Paths of the bundled reports, sorted by file name."""
    return sorted(Path(str(p)) for p in files(__name__).iterdir() if p.name.endswith(".txt"))
