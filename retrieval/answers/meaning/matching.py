"""How well a question's topic words are found in a stretch of report text, by kind of match.

A topic word is found exactly (人民调解员), by its head noun (调解员 for 专兼职人民调解员's question word
人民调解员 and the other way round), or through a word that means the same (老百姓 → 群众, from
``retrieval.answers.meaning.synonyms``). Coverage is the IDF-weighted share of the topic found: rare words weigh more, a
verb the reports never use ("搞") hardly counts, a noun they never use counts fully, so its absence means
"not found".
"""

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from retrieval.answers.meaning.synonyms import thesaurus

Terms = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Match:
    exact: float  # found as written
    head: float  # found by a head noun or an extended form
    meaning: float  # found through a synonym (best weight), or any of the above

    @classmethod
    def none(cls) -> "Match":
        return cls(0.0, 0.0, 0.0)


def head_match(term: str, zone: str) -> float:
    """1 for the word itself; 0.5–1 for its longest tail of two or more characters (人民调解员 → 调解员)."""
    if term in zone:
        return 1.0
    for size in range(len(term) - 1, 1, -1):
        if term[-size:] in zone:
            return 0.5 + 0.5 * size / len(term)
    if len(term) >= 4:  # words inserted inside: 聚众赌博 ~ 聚众大额赌博
        pairs = [term[i:i + 2] for i in range(len(term) - 1)]
        if sum(pair in zone for pair in pairs) * 3 >= 2 * len(pairs):
            return 0.75
    return 0.0


@lru_cache(maxsize=4096)
def related(term: str) -> tuple[tuple[str, float], ...]:
    """Synonyms of ``term`` worth looking for, best first."""
    return tuple(sorted(thesaurus().related(term).items(), key=lambda item: -item[1]))


def match(term: str, zone: str) -> Match:
    exact = 1.0 if term in zone else 0.0
    head = head_match(term, zone)
    meaning = max((w for word, w in related(term) if word in zone), default=0.0)
    return Match(exact, head, max(head, meaning))


def coverage(terms: Terms, zone: str, weight: Callable[[str, float], float]) -> Match:
    """IDF-weighted share of ``terms`` found in ``zone``, per kind of match, each in [0, 1]."""
    total = exact = head = meaning = 0.0
    for term, kind in terms:
        w = weight(term, kind)
        m = match(term, zone)
        total += w
        exact += w * m.exact
        head += w * m.head
        meaning += w * m.meaning
    if not total:
        return Match.none()
    return Match(exact / total, head / total, meaning / total)


def missing_weight(terms: Terms, zone: str, weight: Callable[[str, float], float]) -> float:
    """The weight of the rarest noun of the question that ``zone`` lacks in every form (0 when none)."""
    return max((weight(t, k) for t, k in terms if k >= 1.0 and match(t, zone).meaning < 0.75), default=0.0)
