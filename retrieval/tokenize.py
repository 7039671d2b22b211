"""jieba tokenisation for BM25 and question analysis, with a domain dictionary and the corpus's towns."""

import logging
import threading
from collections.abc import Iterable
from importlib.resources import files

import jieba
import jieba.posseg

jieba.setLogLevel(logging.WARNING)

# Words that carry no topic: question words, particles, verbs of saying, generic time words.
STOPWORDS = frozenset(
    "的 了 是 在 和 与 及 有 有没有 没有 多少 几 几个 哪 哪个 哪些 哪天 什么 怎么 怎样 如何 吗 呢 吧 啊 呀 么 "
    "那 那么 这 这个 一共 总共 共 共计 累计 一下 请问 请 问 告诉 我 我们 你 给 给我 讲 讲讲 说说 介绍 "
    "今年 去年 本年 本年度 年度 年 全年 镇 乡 街道 村 个 名 人 次 场 件 起 宗 家 份 项 "
    "还 都 也 又 就 把 被 让 对 为 以 于 从 到 中 里 上 下 其中 分别 具体 做 了 过 吗 啥 "
    "最 镇里 乡里 村里 多 少 大概 大约 数量 数 数字 情况 方面 有关 相关 例子 案例 做法 经验 举 举个 一个 一些 "
    ", . ? ! ， 。 ？ ！ 、 ： ； “ ” （ ） ( ) 《 》 \" ' ".split()
)


class Tokenizer:
    """A private jieba tokenizer: the domain dictionary plus extra words (the corpus's town names)."""

    def __init__(self, extra_words: Iterable[str] = ()) -> None:
        self._jieba = jieba.Tokenizer()
        self._tagger = jieba.posseg.POSTokenizer(self._jieba)
        self._lock = threading.Lock()
        self._words = set(extra_words)

    def _ready(self) -> jieba.Tokenizer:
        with self._lock:
            if not self._jieba.initialized:
                self._jieba.initialize()
                terms = files("retrieval").joinpath("data/terms.txt").read_text(encoding="utf-8")
                for word in terms.split():
                    self._jieba.add_word(word, freq=200_000, tag="n")
                for word in self._words:
                    self._jieba.add_word(word, freq=200_000, tag="ns")
            return self._jieba

    def add_words(self, words: Iterable[str]) -> None:
        """Teach the tokenizer more words (a new report's town)."""
        fresh = set(words) - self._words
        self._words |= fresh
        if self._jieba.initialized:
            with self._lock:
                for word in fresh:
                    self._jieba.add_word(word, freq=200_000, tag="ns")

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
