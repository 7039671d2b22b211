"""Reading an English question in the reports' words.

BM25, the thesaurus and the matching features read Chinese, so an English question's content words and
phrases ("smoking-control checks", "legal adviser") are mapped by meaning to Chinese words: the words of the
question's best candidate passages (a few hundred jieba words), embedded with the multilingual model in one
batch. A pair is kept only when it clearly stands out: the word is the phrase's nearest, the cosine is high and
far above the phrase's similarity to the corpus's most common words, and the phrase nearest to the word shares
a word with it. The small glossary (``retrieval/data/english.txt``) adds its words where those passages use them.
The question then carries those Chinese words as its terms and runs the ordinary path.
"""

import functools
import re
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING

import numpy as np

from retrieval.answers.question.towns import aliases, pinyin, stem
from retrieval.search.tokenize import STOPWORDS

if TYPE_CHECKING:
    from retrieval.search.hybrid import Searcher

PASSAGES = 8  # candidate passages whose words are offered
WORDS = 160  # at most this many words of theirs
SIMILARITY = 0.86  # a pair's cosine at least (multilingual-e5 cosines sit in 0.80-0.93)
STANDOUT = 3.5  # … and this many standard deviations above the phrase's mean over the common words
COMMON = 200  # the corpus's most common words: what any phrase is somewhat near (the yardstick of standing out)
SAMPLED = 150  # passages read to find them
CACHED = 50_000  # word vectors kept
TAGGED = 4096  # passages whose words are kept
# Function words, question scaffolding and verbs too general to name a topic.
_STOP = frozenset("""
a an the of in on at to for from by with within about into over under after before during between among
and or but vs versus than as per via apart besides except out up off
how many much what which who whom whose when where why whether there here this that these those it its
they them their he she his her we our us you your i me my one ones each every all any some total number
is are was were be been being am do does did done have has had having get got gets make made take took
keep keeps kept give gave given go went put set log logged cover covered reach reached offer offered
can could will would shall should may might must also still yet so too very more most less least only just
year years town towns township townships subdistrict district county street village's town's
times time people person persons person-times yuan percent percentage share rate often long big large
when date day dated signed report amount
""".split())
_WORD = re.compile(r"[a-z]+(?:[-'][a-z]+)*")
_FLAGS = ("n", "v", "l", "j", "i", "a")  # nouns, verbs, set phrases, adjectives
_CJK = re.compile(r"^[\u4e00-\u9fff]{2,8}$")
_HEAD = re.compile(r"\bhow many\s+([a-z' -]+)")


@dataclass(frozen=True)
class Reading:
    """The report's words an English question names, and the word of what it counts."""

    terms: tuple[tuple[str, float], ...] = ()
    counted: str = ""
    pairs: tuple[tuple[str, str, float], ...] = ()  # (English, Chinese, cosine), for tests and logs
    seen: str = ""  # the candidate passages' text


def runs(text: str, names: Collection[str] = ()) -> list[list[str]]:
    """The question's content words in runs of adjacent ones (function words, town names and digits break a
    run): "How many smoking-control checks did Hangzhoudao log" → [["smoking-control", "checks"]]."""
    out: list[list[str]] = [[]]
    for token in re.findall(r"[a-z]+(?:[-'][a-z]+)*|[^\sa-z]+", text.lower()):
        word = re.sub(r"'s$", "", token)
        if not _WORD.fullmatch(word) or word in _STOP or word in names or len(word) < 3:
            out.append([])
        else:
            out[-1].append(word)
    return [run for run in out if run]


def phrases(content: list[list[str]], longest: int = 3) -> list[str]:
    """Every phrase of up to ``longest`` adjacent content words."""
    found = [" ".join(run[i:i + n]) for run in content for n in range(1, longest + 1)
             for i in range(len(run) - n + 1)]
    return list(dict.fromkeys(found))


def head(text: str) -> list[str]:
    """The words of what "how many" counts, up to a function word or a past-tense verb ("how many
    administrative penalties followed …" → ["administrative", "penalties"])."""
    found = _HEAD.search(text.lower())
    words: list[str] = []
    for token in found.group(1).split() if found else []:
        word = re.sub(r"'s$", "", token)
        if word != token:  # "people's mediation committees": a possessive qualifies what follows
            continue
        if word in _STOP or not _WORD.fullmatch(word) or re.fullmatch(r"[a-z]{3,}ed", word):
            break
        words.append(word)
    return words


class EnglishReader:
    """Maps English questions to the words of their candidate passages (one per searcher, shared by threads:
    word vectors are cached across questions)."""

    def __init__(self, searcher: "Searcher") -> None:
        self._searcher = searcher
        self._vectors: dict[str, np.ndarray] = {}
        self._common: list[str] | None = None
        self._lock = threading.Lock()
        self._offered = functools.lru_cache(maxsize=TAGGED)(self._passage_words)  # a passage's words, tagged once

    def __call__(self, text: str, towns: Sequence[str], year: int | None, names: Collection[str] = (),
                 about: str = "") -> Reading:
        """``text``: the question without its Chinese town names; ``names``: the pinyin of its towns; ``about``:
        the previous question of a follow-up (its passages are found with both)."""
        wanted = phrases(runs(text, names))
        found_with = " ".join([about, text, *glossary_terms(text)]).strip()  # the glossary's words help BM25 find
        words, flags, seen = self._words(found_with, towns, year)
        if not wanted or not words:
            return Reading(seen=seen)
        phrase_vectors = self._embed(wanted)
        near_common = phrase_vectors @ self._embed(self.common()).T
        pairs = _pairs(wanted, words, phrase_vectors, self._embed(words), near_common)
        chosen = [zh for _, zh, _ in pairs]
        kept = [zh for zh in dict.fromkeys(chosen) if not any(zh != other and zh in other for other in chosen)]
        spoken = head(text)
        counted = next((zh for en, zh, _ in pairs if en == " ".join(spoken)), "") or next(
            (zh for en, zh, _ in pairs if en in spoken[-1:]), "")
        weak = set(self.common())  # 法律, 工作: a weak term, like a verb
        terms = tuple((zh, 1.0 if flags[zh].startswith("n") and zh not in weak else 0.5) for zh in kept)
        return Reading(terms, counted, tuple(pairs), seen)

    def common(self) -> list[str]:
        """The corpus's most common words (lowest idf) in an even sample of its passages, found once."""
        with self._lock:
            if self._common is None:
                searcher = self._searcher
                rows = searcher.corpus.rows(searcher.corpus.reports)
                step = max(1, len(rows) // SAMPLED)
                seen: dict[str, float] = {}
                for row in rows[::step][:SAMPLED]:
                    for word, flag in searcher.tokenizer.tagged(searcher.corpus.passages[int(row)].text):
                        if word not in seen and _usable(word, flag):
                            seen[word] = searcher.corpus.idf(word)
                self._common = sorted(seen, key=lambda w: (seen[w], w))[:COMMON]
            return self._common

    def _words(self, text: str, towns: Sequence[str], year: int | None) -> tuple[list[str], dict[str, str], str]:
        searcher = self._searcher
        years = [year] if year is not None and any(r.year == year for r in searcher.corpus.reports.values()
                                                   if not towns or r.town in towns) else None
        hits = searcher.candidates(text, PASSAGES, towns=list(towns) or None, years=years)
        flags: dict[str, str] = {}
        texts = []
        for hit in hits:
            text, tagged = self._offered(hit.row)
            texts.append(text)
            for word, flag in tagged:
                flags.setdefault(word, flag)
        words = list(flags)[:WORDS]
        return words, flags, "\n".join(texts)

    def _passage_words(self, row: int) -> tuple[str, tuple[tuple[str, str], ...]]:
        text = self._searcher.corpus.passages[row].text
        return text, tuple((w, f) for w, f in self._searcher.tokenizer.tagged(text) if _usable(w, f))

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of ``texts``, the ones not cached embedded in one batch (the cache is replaced, never
        changed under a reader, when it is full)."""
        known = self._vectors
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        fresh: dict[str, np.ndarray] = {}
        if missing:
            encode = getattr(self._searcher.encoder, "encode_terms", self._searcher.encoder.encode_queries)
            fresh = dict(zip(missing, encode(missing), strict=True))
            with self._lock:
                self._vectors = {**({} if len(self._vectors) > CACHED else self._vectors), **fresh}
        return np.stack([fresh[t] if t in fresh else known[t] for t in texts]).astype(np.float32)


def _usable(word: str, flag: str) -> bool:
    return bool(_CJK.match(word)) and flag.startswith(_FLAGS) and flag != "ns" and word not in STOPWORDS


def _pairs(wanted: Sequence[str], words: Sequence[str], english: np.ndarray, chinese: np.ndarray,
           common: np.ndarray) -> list[tuple[str, str, float]]:
    """(phrase, word, cosine) where the word is the phrase's nearest and clearly stands out from the
    phrase's similarity to the common words (``common``: phrases × common words), and the phrase nearest to
    the word shares a word with it."""
    similarity = english @ chinese.T
    standout = (similarity - common.mean(axis=1, keepdims=True)) / np.maximum(common.std(axis=1, keepdims=True),
                                                                              1e-6)
    nearest_phrase = similarity.argmax(axis=0)
    out = []
    for i, phrase in enumerate(wanted):
        j = int(similarity[i].argmax())
        rival = set(re.split(r"[ -]", wanted[nearest_phrase[j]]))
        if similarity[i, j] >= SIMILARITY and standout[i, j] >= STANDOUT and rival & set(re.split(r"[ -]", phrase)):
            out.append((phrase, words[j], float(similarity[i, j])))
    return out


# An English question's topic → the reports' words: (text, towns, year, the towns' pinyin[, the previous
# question's text, which a follow-up's passages are found with]) → Reading.
EnglishRead = Callable[..., Reading]


@cache
def _glossary() -> tuple[tuple[re.Pattern[str], str], ...]:
    lines = files("retrieval").joinpath("data/english.txt").read_text(encoding="utf-8").splitlines()
    pairs = [line.split("\t") for line in lines if line.strip() and not line.startswith("#")]
    pairs.sort(key=lambda pair: -len(pair[0]))
    return tuple((re.compile(rf"\b{re.escape(en)}\b", re.I), zh) for en, zh in pairs)


def glossary_terms(text: str) -> list[str]:
    """The report's words for an English question's words (longest phrases first, each used once)."""
    found = []
    for pattern, zh in _glossary():
        if pattern.search(text):
            text = pattern.sub(" ", text)
            found.append(zh)
    return list(dict.fromkeys(found))


def read_english(topic: str, towns: Sequence[str], year: int | None, english_read: EnglishRead | None) -> Reading:
    """The question's terms: the reader's words and the glossary's that its passages use (without a reader,
    the glossary's alone)."""
    if english_read is None:
        return Reading(tuple(dict.fromkeys(glossary_terms(topic), 1.0).items()))
    names = {pinyin(stem(a)) for t in towns for a in (t, *aliases(t))}
    reading = english_read(topic, towns, year, names)
    glossary = [zh for zh in glossary_terms(topic) if zh in reading.seen]  # as the mapped words: in the passages
    terms = dict(reading.terms) | dict.fromkeys(glossary, 1.0)
    kept = {zh: w for zh, w in terms.items() if not any(zh != other and zh in other for other in terms)}
    spoken = head(topic)
    whole = glossary_terms(" ".join(spoken))  # "people's mediators": one word; "village visits": the last word's
    counted = reading.counted or next(iter(whole if len(whole) == 1 else glossary_terms(" ".join(spoken[-1:]))), "")
    return Reading(tuple(kept.items()), counted if counted in kept else "", reading.pairs)
