"""The corpus's towns, looked up by what a question contains: the cost of a lookup grows with the length of
the question, not with the number of towns (40,000 townships and streets, most of them named by no question).

    written   an Aho–Corasick automaton (pyahocorasick) over every name and its stem (太平镇, 太平)
    near      every name with one character masked (太?镇) → the names it stands for: one wrong character
    sounds    an automaton over the stems' pinyin (taiping), built on the first question in Latin letters
"""

import re
import threading
from collections.abc import Iterable
from functools import cache

import ahocorasick

_MASK = "\x00"  # never in a question


@cache
def pinyin(name: str) -> str:
    from pypinyin import lazy_pinyin

    return "".join(lazy_pinyin(name))


def stem(town: str) -> str:
    return re.sub(r"(镇|乡|街道)$", "", town)


def _automaton(keys: dict[str, list[str]]) -> "ahocorasick.Automaton":
    automaton = ahocorasick.Automaton()
    for key, towns in keys.items():
        automaton.add_word(key, tuple(towns))
    if keys:
        automaton.make_automaton()
    return automaton


class TownIndex:
    """Known town names, in the order given (lookups return towns in that order)."""

    def __init__(self, known: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(known))
        self._order = {town: i for i, town in enumerate(self.names)}
        written: dict[str, list[str]] = {}
        near: dict[str, list[str]] = {}
        for town in self.names:
            written.setdefault(town, []).append(town)
            if len(stem(town)) >= 2 and stem(town) != town:
                written.setdefault(stem(town), []).append(town)
            for i in range(len(town)):
                near.setdefault(town[:i] + _MASK + town[i + 1:], []).append(town)
        self._written, self._near = _automaton(written), near
        self._sounds: tuple[ahocorasick.Automaton, tuple[str, ...]] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.names)

    def _in_order(self, towns: Iterable[str]) -> list[str]:
        return sorted(set(towns), key=self._order.__getitem__)

    def written_in(self, text: str) -> list[str]:
        """Towns whose name, or stem of two characters or more, occurs in ``text``."""
        if not self.names:
            return []
        return self._in_order(town for _, towns in self._written.iter(text) for town in towns)

    def one_off(self, name: str) -> list[str]:
        """Towns of the same length as ``name`` that differ from it in exactly one character."""
        found = (t for i in range(len(name)) for t in self._near.get(name[:i] + _MASK + name[i + 1:], ()))
        return self._in_order(t for t in found if t != name)

    def sounded_in(self, letters: str) -> list[str]:
        """Towns whose stem's pinyin occurs in ``letters`` (lower-case Latin letters only)."""
        automaton, always = self._pinyin()
        heard = [town for _, towns in automaton.iter(letters) for town in towns] if len(automaton) else []
        return self._in_order([*heard, *always])

    def _pinyin(self) -> tuple["ahocorasick.Automaton", tuple[str, ...]]:
        with self._lock:
            if self._sounds is None:
                keys: dict[str, list[str]] = {}
                for town in self.names:
                    keys.setdefault(pinyin(stem(town)), []).append(town)
                always = tuple(keys.pop("", ()))  # an empty pinyin is in every text
                self._sounds = (_automaton(keys), always)
            return self._sounds
