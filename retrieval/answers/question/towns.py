"""The corpus's towns, looked up by what a question contains: the cost of a lookup grows with the length of
the question, not with the number of towns (40,000 townships and streets, most of them named by no question).

    written   an Aho–Corasick automaton (pyahocorasick) over every name, its aliases and stems (太平镇, 太平;
              罗子山瑶族乡, 罗子山乡, 罗子山)
    near      every name with one character masked (太?镇) → the names it stands for: one wrong character
              that reads the same (中糖镇 for 中塘镇)
    sounds    an automaton over the stems' pinyin (taiping), built on the first question in Latin letters
    short     a department's shortened name (市场监管局 for 泾阳市市场监督管理局, 人社局, 卫健委): a run of the
              question that keeps the body's characters in order, its first and its last (``abbreviations``)
"""

import re
import threading
from collections.abc import Iterable, Sequence
from functools import cache

import ahocorasick

from retrieval.reports.documents import towns_in
from retrieval.reports.units import REGION_SUFFIXES, short_names, unit_kind

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
    """Other names people write a unit by: an ethnic township without its people (罗子山瑶族乡 → 罗子山乡), a
    region without its suffix (城南区 → 城南), a department without its region or with the region's short name
    (泾阳市市场监督管理局 → 市场监督管理局, 泾阳市场监督管理局)."""
    plain = _ETHNIC.match(town)
    names = [plain.group(1) + plain.group(2)] if plain else []
    if unit_kind(town) == "region":
        names += [name for name in short_names(town)[1:] if len(name) >= 2]
    region, body = department(town)
    if body:
        names.append(body)
        names += [short + body for short in short_names(region)[1:] if len(short) >= 2]
    return [name for name in dict.fromkeys(names) if name != town]


def department(unit: str) -> tuple[str, str]:
    """(region, body) of a department (泾阳市, 市场监督管理局); ("", "") for other units, or a department
    named without its region."""
    if unit_kind(unit) != "department":
        return "", ""
    body = short_names(unit)[-1]
    region = unit[:-len(body)]
    return (region, body) if region.endswith(REGION_SUFFIXES) else ("", "")


def written_spans(text: str, unit: str) -> list[tuple[int, int]]:
    """Where ``text`` names ``unit``, by any of its names (in full, alias, stem, short, its region's), the longest
    where one holds another (民权县, not its 民权)."""
    names = {unit, *aliases(unit), *abbreviations(text, unit), *region_names(unit)}
    names |= {stem(name) for name in names if len(stem(name)) >= 2}
    spans = {(m.start(), m.start() + len(name)) for name in names for m in re.finditer(re.escape(name), text)}
    return sorted(span for span in spans if not any(o != span and o[0] <= span[0] and span[1] <= o[1] for o in spans))


def region_names(unit: str) -> list[str]:
    """The names of the region a department belongs to (民权县, 民权 of 民权县司法局); none for other units."""
    region = department(unit)[0]
    return [name for name in short_names(region) if len(name) >= 2] if region else []


def last_characters(body: str) -> tuple[str, ...]:
    """The characters a department's short name may end with: its last, and 委 of a 委员会 (卫健委), 办 of an
    办公室 (政务办)."""
    ends = {"委员会": "委", "办公室": "办"}
    return (body[-1], *(end for suffix, end in ends.items() if body.endswith(suffix)))


def _keeps_in_order(short: str, body: str) -> bool:
    rest = iter(body)
    return all(char in rest for char in short)


def abbreviations(text: str, unit: str) -> list[str]:
    """The runs of ``text`` that name the department ``unit`` in short (市场监管局, 泾阳市场监管局 for
    泾阳市市场监督管理局; 人社局 for 人力资源和社会保障局): three characters or more, beginning with the first
    character of its body (or, five or more, with two characters that stand together in it: 综合执法局) and
    ending with its last, keeping the body's characters in order, the region (in full or short) before it, if
    written, taken in."""
    region, body = department(unit)
    body = body or (unit if unit_kind(unit) == "department" else "")
    if not body:
        return []
    prefixes = sorted({region, *short_names(region)[1:]} - {""}, key=len, reverse=True) if region else []
    found = []
    for end in (i + 1 for i, char in enumerate(text) if char in last_characters(body)):
        starts = [i for i in range(max(end - len(body), 0), end - 2)  # 综合执法局 of 城市管理综合行政执法局 too
                  if text[i] == body[0] or (end - i >= 5 and text[i:i + 2] in body)]
        short = next((text[i:end] for i in starts if _keeps_in_order(text[i:end], body)), "")
        if short and short != body:
            before = text[:end - len(short)]
            found.append(next((p + short for p in prefixes if before.endswith(p)), short))
    return found


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
        self._departments: dict[str, list[str]] = {}  # the last character of a department's name → its units
        for town in self.names:
            if unit_kind(town) == "department":
                for char in last_characters(town):
                    self._departments.setdefault(char, []).append(town)
                if department(town)[0] not in self._order:  # 民权县 of 民权县司法局, when no report is the county's
                    for name in region_names(town):
                        written.setdefault(name, []).append(town)
        self._alias = {alias: town for town in self.names for alias in (town, *aliases(town))}
        self._written, self._near = _automaton(written), near
        self.regions = frozenset(name for unit in self.names for name in
                                 (*region_names(unit), *(short_names(unit) if unit_kind(unit) == "region" else ())))
        self._sounds: tuple[ahocorasick.Automaton, tuple[str, ...]] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.names)

    def order(self, town: str) -> int:
        """Where ``town`` stands among the names given (0 for a name not among them)."""
        return self._order.get(town, 0)

    def _in_order(self, towns: Iterable[str]) -> list[str]:
        return sorted(set(towns), key=self._order.__getitem__)

    def written_in(self, text: str) -> list[str]:
        """Units whose name, alias or stem of two characters or more, or a department's short name, occurs in
        ``text``."""
        if not self.names:
            return []
        written = [town for _, towns in self._written.iter(text) for town in towns]
        shortened = [unit for char in set(text) for unit in self._departments.get(char, ())
                     if unit not in written and abbreviations(text, unit)]
        regions = {department(unit)[0] for unit in [*written, *shortened]}  # 城南卫健委 is not 城南区 itself
        return self._in_order(unit for unit in [*written, *shortened] if unit not in regions)

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
                    if department(town)[0] not in self._order:  # Minquan County: 民权县司法局, as in Chinese
                        for name in region_names(town)[1:]:
                            keys.setdefault(pinyin(name), []).append(town)
                always = tuple(keys.pop("", ()))  # an empty pinyin is in every text
                self._sounds = (_automaton(keys), always)
            return self._sounds


_PLACE = re.compile(r"(?<![各每全本该哪几个多少共])([\u4e00-\u9fff]{2,3}(?:村|社区))(?!民|委|里|干部|级|规|务|庄)")
_NOT_PLACE = re.compile(r"^(?:各|每|全|本|该|哪|几|多少|共|一共|行政|农村|乡村|城乡|新农|村村|一个|整个|所有|示范)")


def places(text: str) -> tuple[str, ...]:
    """The villages and communities ``text`` names ("红溪村", not "各村" or "几个村")."""
    return tuple(p for p in _PLACE.findall(text) if not _NOT_PLACE.match(p) and not re.search("[几个多少有]", p))


# "Qingshui Town", "Dongkou county": a unit named in English.
_ENGLISH_UNIT = re.compile(r"\b([A-Z][a-z]+)(?:'s)?\s+(?i:town(?:ship)?|county|(?:sub)?district|street)\b")
_NOT_NAME = frozenset("which each every the this that any what whose other same whole entire one and or in of"
                      .split())


def _region_before(text: str, start: int, unit: str, regions: frozenset[str]) -> str:
    """The name of another region written right before a department's name at ``start`` (清河县 of 清河县市场监管局,
    兰考 of 兰考司法局, when the unit is another county's), or ""; ``regions``: the regions the corpus knows."""
    if unit_kind(unit) != "department":
        return ""
    before, own = text[:start], region_names(unit)
    # the longest known region name it ends with (no region is named in more than 12 characters)
    known = next((before[-k:] for k in range(min(len(before), 12), 1, -1) if before[-k:] in regions), "")
    if known:
        return "" if known in own else known
    region = next((before[-k:] for k in (3, 4, 5) if re.fullmatch(r"[\u4e00-\u9fff]{2,4}[县市区旗]", before[-k:])), "")
    if not region or re.search(r"[哪各每几该本我全那这其某个些]", region) or any(region.endswith(n) for n in own):
        return ""
    return region


def find_towns(text: str, known: "Sequence[str] | TownIndex") -> tuple[list[str], list[str]]:
    """(known towns the text names, town-like names it mentions that are not in the corpus)."""
    index = known if isinstance(known, TownIndex) else TownIndex(known)
    written = towns_in(text)
    found, unknown = [], []
    for unit in index.written_in(text):
        spans = written_spans(text, unit)
        other = [_region_before(text, start, unit, index.regions) for start, _ in spans]
        above = unit_kind(unit) in ("region", "department")  # a town is no region of the towns after it
        if any(not region and not (above and any(text.startswith(t, end) for t in written if t != unit))
               for (_, end), region in zip(spans, other, strict=True)):
            found.append(unit)  # named by itself: not 城南区 of 城南区东风街道, nor 市场监管局 of another county's
        else:
            unknown += [region + text[start:end] for (start, end), region in zip(spans, other, strict=True)
                        if region and region not in index.regions]
    for name in written:
        if any(name.endswith(a) or a.endswith(name) for t in found for a in (t, *aliases(t))):
            continue
        close = index.one_off(name)
        (found if close else unknown).extend(close or [name])
    letters = re.sub(r"[^a-z]", "", text.lower())
    if letters:
        found += [t for t in index.sounded_in(letters) if t not in found]
    for match in _ENGLISH_UNIT.finditer(text):  # a pinyin name of a unit the corpus lacks
        name = match.group(1)
        if name.lower() not in _NOT_NAME and not index.sounded_in(name.lower()):
            unknown.append(match.group(0).removesuffix("'s"))
    return sorted(set(found), key=lambda t: (text.find(t), index.order(t))), unknown
