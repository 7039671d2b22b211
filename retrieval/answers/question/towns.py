"""The corpus's towns, looked up by what a question contains: the cost of a lookup grows with the length of
the question, not with the number of towns (40,000 townships and streets, most of them named by no question).

    written   an Aho–Corasick automaton (pyahocorasick) over every name, its aliases and stems (太平镇, 太平;
              罗子山瑶族乡, 罗子山乡, 罗子山)
    near      every name with one character masked (太?镇) → the names it stands for: one wrong character
              that reads the same (中糖镇 for 中塘镇)
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


# The peoples an ethnic township (民族乡) is named for, longest first.
_PEOPLES = sorted(("壮 回 满 维吾尔 苗 彝 土家 藏 蒙古 侗 布依 瑶 白 朝鲜 哈尼 黎 哈萨克 傣 畲 傈僳 "
                   "东乡 仡佬 拉祜 佤 水 纳西 羌 土 仫佬 锡伯 柯尔克孜 景颇 达斡尔 撒拉 布朗 毛南 "
                   "塔吉克 普米 阿昌 怒 鄂温克 京 基诺 德昂 保安 俄罗斯 裕固 乌孜别克 门巴 鄂伦春 "
                   "独龙 赫哲 高山 珞巴 塔塔尔").split(), key=len, reverse=True)
_ETHNIC = re.compile(rf"^(.{{2,}}?)(?:(?:{'|'.join(_PEOPLES)})族)+(乡|镇)$")


def aliases(town: str) -> list[str]:
    """Other names people write a town by: an ethnic township without its people (罗子山瑶族乡 → 罗子山乡)."""
    plain = _ETHNIC.match(town)
    return [plain.group(1) + plain.group(2)] if plain else []


@cache
def _sounds(char: str) -> frozenset[str]:
    from pypinyin import Style
    from pypinyin import pinyin as readings

    return frozenset(readings(char, style=Style.NORMAL, heteronym=True)[0])


def sounds_alike(name: str, town: str) -> bool:
    """One character of ``name`` differs from ``town`` and reads the same (toneless pinyin, any reading):
    a typing slip of a pinyin keyboard (中糖镇, 观塘镇), not another town (东坝镇 is not 关坝镇)."""
    slips = [(a, b) for a, b in zip(name, town, strict=True) if a != b]
    return len(slips) == 1 and bool(_sounds(slips[0][0]) & _sounds(slips[0][1]))


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
            for alias in (town, *aliases(town)):
                written.setdefault(alias, []).append(town)
                if len(stem(alias)) >= 2 and stem(alias) != alias:
                    written.setdefault(stem(alias), []).append(town)
                for i in range(len(alias)):
                    near.setdefault(alias[:i] + _MASK + alias[i + 1:], []).append(alias)
        self._alias = {alias: town for town in self.names for alias in (town, *aliases(town))}
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
        """Towns of which ``name`` is a slip of one character that reads the same (``sounds_alike``)."""
        found = (t for i in range(len(name)) for t in self._near.get(name[:i] + _MASK + name[i + 1:], ()))
        return self._in_order(self._alias[t] for t in found if t != name and sounds_alike(name, t))

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
                    for alias in (town, *aliases(town)):
                        keys.setdefault(pinyin(stem(alias)), []).append(town)
                always = tuple(keys.pop("", ()))  # an empty pinyin is in every text
                self._sounds = (_automaton(keys), always)
            return self._sounds


_PLACE = re.compile(r"(?<![各每全本该哪几个多少共])([\u4e00-\u9fff]{2,3}(?:村|社区))(?!民|委|里|干部|级|规|务|庄)")
_NOT_PLACE = re.compile(r"^(?:各|每|全|本|该|哪|几|多少|共|一共|行政|农村|乡村|城乡|新农|村村|一个|整个|所有|示范)")


def places(text: str) -> tuple[str, ...]:
    """The villages and communities ``text`` names ("红溪村", not "各村" or "几个村")."""
    return tuple(p for p in _PLACE.findall(text) if not _NOT_PLACE.match(p) and not re.search("[几个多少有]", p))

