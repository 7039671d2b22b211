"""jieba tokenisation for BM25 and question analysis, with a domain dictionary and the corpus's towns.

Building jieba's prefix dictionary, adding the domain terms and reading the part-of-speech table take
~1.5 s and happen once: the result is kept in one marshal file (``<cache_dir>/jieba/``; by default the
temporary directory, where jieba keeps its own cache), keyed by jieba's version, its dictionary and the
terms; a process loads it in a fraction of that (0.3-1 s on the busy 2-core VM). Towns are few and added
per process.
"""

import hashlib
import importlib
import logging
import marshal
import os
import sys
import tempfile
import threading
from collections.abc import Iterable
from importlib.resources import files
from pathlib import Path
from types import ModuleType
from typing import Any

import jieba

jieba.setLogLevel(logging.WARNING)
log = logging.getLogger(__name__)
TERM_FREQ = 200_000

# Words that carry no topic: question words, particles, verbs of saying, generic time words.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 有 有没有 没有 多少 几 几个 哪 哪个 哪些 哪天 什么 怎么 怎样 如何 吗 呢 吧 啊 呀 么 "
    "那 那么 这 这个 一共 总共 共 共计 累计 一下 请问 请 问 告诉 我 我们 你 给 给我 讲 讲讲 说说 介绍 "
    "今年 去年 本年 本年度 年度 年 全年 镇 乡 街道 村 个 名 人 次 场 件 起 宗 家 份 项 "
    "还 都 也 又 就 把 被 让 对 为 以 于 从 到 中 里 上 下 其中 分别 具体 做 了 过 吗 啥 "
    "最 镇里 乡里 村里 多 少 大概 大约 数量 数 数字 情况 方面 有关 相关 例子 案例 做法 经验 举 举个 一个 一些 "
    ", . ? ! ， 。 ？ ！ 、 ： ； “ ” （ ） ( ) 《 》 \" ' ".split()
)


def _posseg() -> ModuleType:
    """``jieba.posseg``, without the whole-dictionary read its import does for a global tagger (~1 s):
    that tagger gets the tag table of the first :class:`Tokenizer` instead."""
    if "jieba.posseg" not in sys.modules:
        dictionary, jieba.dt.dictionary = jieba.dt.dictionary, os.devnull
        try:
            importlib.import_module("jieba.posseg")
        finally:
            jieba.dt.dictionary = dictionary
    return sys.modules["jieba.posseg"]


def _terms_text() -> str:
    return files("retrieval").joinpath("data/terms.txt").read_text(encoding="utf-8")


def _cache_file(cache_dir: Path, terms: str) -> Path:
    dictionary = Path(jieba.__file__).with_name("dict.txt")
    key = hashlib.sha256(f"{jieba.__version__} {dictionary.stat().st_size} {TERM_FREQ}\n{terms}".encode()).hexdigest()
    return cache_dir / "jieba" / f"dict-{key[:16]}.marshal"


def _build(tokenizer: jieba.Tokenizer, terms: str) -> dict[str, Any]:
    """jieba's dictionary with the domain terms, and the part-of-speech table of both."""
    tokenizer.initialize()
    for word in terms.split():
        tokenizer.add_word(word, freq=TERM_FREQ, tag="n")
    tags: dict[str, str] = {}
    same = dict(zip(tokenizer.FREQ, tokenizer.FREQ, strict=True))  # one string per word in both tables:
    with tokenizer.get_dict_file() as lines:  # marshal then writes it once (and loads it once)
        for line in lines:  # "word freq tag", as jieba.posseg reads it
            parts = line.decode("utf-8").strip().split(" ")
            if len(parts) == 3:
                tags[same.get(parts[0], parts[0])] = sys.intern(parts[2])
    tags.update({same.get(word, word): sys.intern(tag) for word, tag in tokenizer.user_word_tag_tab.items()})
    tokenizer.user_word_tag_tab = {}
    return {"freq": tokenizer.FREQ, "total": tokenizer.total, "tags": tags}


class Tokenizer:
    """A private jieba tokenizer: the domain dictionary plus extra words (the corpus's town names)."""

    def __init__(self, extra_words: Iterable[str] = (), *, cache_dir: Path | None = None) -> None:
        self._jieba = jieba.Tokenizer()
        self._tagger: Any = None
        self._lock = threading.Lock()
        self._words = set(extra_words)
        self._cache_dir = Path(cache_dir) if cache_dir else Path(tempfile.gettempdir())

    def _load(self) -> dict[str, Any]:
        terms = _terms_text()
        path = _cache_file(self._cache_dir, terms)
        try:
            state: dict[str, Any] = marshal.loads(path.read_bytes())  # 3x faster than marshal.load(file)
            return state
        except (OSError, EOFError, ValueError, TypeError):
            pass
        state = _build(self._jieba, terms)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}")
            tmp.write_bytes(marshal.dumps(state))
            os.replace(tmp, path)
        except OSError as error:  # a read-only cache still answers, only slower to start
            log.warning("cannot write the jieba cache %s: %s", path, error)
        return state

    def _ready(self) -> jieba.Tokenizer:
        with self._lock:
            if not self._jieba.initialized:
                state = self._load()
                self._jieba.FREQ, self._jieba.total = state["freq"], state["total"]
                self._jieba.initialized = True
                posseg = _posseg()
                self._tagger = posseg.POSTokenizer.__new__(posseg.POSTokenizer)  # its __init__ re-reads the dict
                self._tagger.tokenizer, self._tagger.word_tag_tab = self._jieba, state["tags"]
                if not posseg.dt.word_tag_tab:
                    posseg.dt.word_tag_tab = state["tags"]
                for word in self._words:
                    self._jieba.add_word(word, freq=TERM_FREQ, tag="ns")
            return self._jieba

    def add_words(self, words: Iterable[str]) -> None:
        """Teach the tokenizer more words (a new report's town)."""
        fresh = set(words) - self._words
        self._words |= fresh
        if self._jieba.initialized:
            with self._lock:
                for word in fresh:
                    self._jieba.add_word(word, freq=TERM_FREQ, tag="ns")

    def words(self, text: str) -> list[str]:
        """All non-blank jieba words of ``text`` (stopwords kept)."""
        return [w for w in self._ready().lcut(text) if w.strip()]

    def tagged(self, text: str) -> list[tuple[str, str]]:
        """jieba words with their part-of-speech flags (n… nouns, v… verbs)."""
        self._ready()
        return [(pair.word, pair.flag) for pair in self._tagger.lcut(text) if pair.word.strip()]

    def terms(self, text: str) -> list[str]:
        """Topic terms: jieba words minus stopwords, digits and punctuation."""
        return [w for w in self.words(text) if w not in STOPWORDS and not w.isdigit() and _has_cjk_or_alpha(w)]

    def index_terms(self, text: str) -> list[str]:
        """Terms for BM25: topic terms plus the character bigrams of long words (so 人民调解员 meets 调解员)."""
        out = []
        for word in self.terms(text):
            out.append(word)
            if len(word) >= 3:
                out.extend(word[i:i + 2] for i in range(len(word) - 1))
        return out


def _has_cjk_or_alpha(word: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" or ch.isalpha() for ch in word)
