"""Figures in report sentences: numbers with their measure word, qualifier and what they count.

Pure functions, no I/O. ``extract_figures("统筹20个人民调解委员会、专兼职人民调解员63名")`` gives
``20个`` (subject 人民调解委员会) and ``63名`` (subject 专兼职人民调解员); the text of a figure is always
copied from the sentence, qualifier included (``40余场``, ``约800人次``, ``十余次``, ``超过1000人次``).
"""

import re
from dataclasses import dataclass

# Measure words, grouped by what they count; a question asking for one group accepts the whole group.
UNIT_GROUPS: dict[str, tuple[str, ...]] = {
    "person": ("名", "人", "位"),
    "person_times": ("人次",),
    "times": ("次", "场次", "场", "期", "轮", "遍", "批次"),
    "case": ("件", "起", "宗", "例"),
    "org": ("家", "所", "支", "队"),
    "visit": ("家次", "户次", "批"),
    "money": ("元",),
    "percent": ("%",),
    "date": ("日期",),
    "item": ("份", "项", "条", "本", "册", "张", "篇", "套", "台", "辆", "盏", "块", "幅", "处", "座", "栋",
             "间", "面", "枚", "部", "首"),
    "area": ("平方米", "平方公里", "公里", "千米", "米", "亩"),
    "household": ("户",),
    "generic": ("个", "组"),
    "duration": ("天", "小时", "分钟", "个月"),
}
UNIT_GROUP = {unit: group for group, units in UNIT_GROUPS.items() for unit in units}
_UNITS = sorted((u for u in UNIT_GROUP if u not in ("%", "日期")), key=len, reverse=True)

PREFIX_QUALIFIERS = ("将近", "接近", "超过", "突破", "大约", "不足", "不到", "多达", "高达", "约", "近", "超", "逾")
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_MULTIPLIERS = {"万": 10_000, "亿": 100_000_000}
# Spelled-out numerals count events and people; with other units they are names ("八米河", "二期", "三项制度").
_CN_UNITS = frozenset("次 场 场次 名 人 人次 位 家 家次 件 起 宗 份 批 轮".split())

_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN = r"[零〇一二两三四五六七八九十百千]+"
_FIGURE_RE = re.compile(
    rf"(?P<pre>{'|'.join(PREFIX_QUALIFIERS)})?"
    rf"(?P<num>{_AR}(?:\s*[-~～至到]\s*{_AR})?|{_CN})"
    r"(?P<post1>余|多)?(?P<mult>[万亿])?(?P<post2>余|多)?"
    rf"(?:(?P<pct>\s?[%％])|\s?(?P<unit>{'|'.join(_UNITS)}))"
)
_DATE_RE = re.compile(r"(?:(?P<y>\d{4})年)?(?P<m>\d{1,2})月(?P<d>\d{1,2})[日号]")
# Where a clause ends: the subject of a figure never reaches across these.
CLAUSE_BREAKS = "，,。；;：:、！？!?《》\n"
# Where a noun after a classifier ends ("104名调解员常年活跃…" → 调解员).
_NOUN_END = set("在是的了为将对把被由从向与及并已均都常得到等进参开")
_LEADING_FILLER = re.compile(r"^(?:[年月日]|其中|共计|共有|合计|总共|累计|共|有|为|达到|达|是|全年|今年来?|"
                             r"目前|截止目前|"
                             r"我镇|本镇|全镇|我乡|全乡)+")
_TRAILING_FILLER = re.compile(r"(?:共计|总计|合计|总共|累计|共有|达到|达|为|共|约|了)+$")


@dataclass(frozen=True)
class Figure:
    """A figure as printed in a sentence.

    ``value`` is in base units (``18.39万元`` → 183900.0, unit ``元``); ``None`` for dates.
    ``start``/``end`` locate ``text`` in the sentence it came from.
    """

    text: str
    value: float | None
    unit: str
    qualifier: str | None
    subject: str
    start: int
    end: int

    @property
    def group(self) -> str:
        return UNIT_GROUP.get(self.unit, "generic")


def cn_number(text: str) -> int | None:
    """Value of a Chinese numeral below 10,000 (``十`` 10, ``二十三`` 23, ``一百零五`` 105)."""
    total, digit = 0, None
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in _CN_SMALL:
            total += (1 if digit is None else digit) * _CN_SMALL[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _value(num: str, mult: str | None) -> float | None:
    if num[0].isdigit():
        first = re.split(r"\s*[-~～至到]\s*", num)[0]
        value: float | None = float(first.replace(",", ""))
    else:
        value = cn_number(num)
    if value is None:
        return None
    return round(value * _MULTIPLIERS.get(mult or "", 1), 6)


def _plausible(sentence: str, match: re.Match[str]) -> bool:
    """Reject ordinals, years, list markers and idioms that only look like figures."""
    start = match.start("num")
    before = sentence[start - 1] if start else ""
    num = match.group("num")
    if before and (before in "第." or before.isdigit()):
        return False
    if not num[0].isdigit():
        if sentence.count("“", 0, start) > sentence.count("”", 0, start):
            return False  # a name in quotes: 村规民约“铁十条”
        # Chinese numerals: "一人一档", "一办一庭两所", "三个工作组" (value one or spelled-out lists).
        if cn_number(num) in (None, 0, 1) or match.group("unit") not in _CN_UNITS:
            return False
        if before and cn_number(before) is not None:
            return False
    return True


def subject_of(sentence: str, start: int, end: int, floor: int = 0) -> str:
    """What a figure at ``sentence[start:end]`` counts: the noun after a classifier, else the clause before
    (never reaching back past ``floor``, the end of the previous figure)."""
    tail = sentence[end + 1:] if sentence[end:end + 1] == "的" else sentence[end:]
    after = []
    for char in tail[:10]:
        if char in CLAUSE_BREAKS or char in _NOUN_END or char.isdigit():
            break
        after.append(char)
    left = start
    while left > floor and sentence[left - 1] not in CLAUSE_BREAKS and not sentence[left - 1].isdigit():
        left -= 1
    raw_before = _LEADING_FILLER.sub("", sentence[left:start]).strip("“”\"' 　")
    before = _TRAILING_FILLER.sub("", raw_before)
    after_text = "".join(after).strip("“”\"' 　")
    if after_text and (not before or _ends_with_verb(raw_before)):
        return after_text
    return before or after_text


def _ends_with_verb(text: str) -> bool:
    """A clause that ends with an action ("统筹", "组建", "出动") names its object after the figure."""
    return bool(re.search(r"(统筹|组建|建立|设立|成立|聘请|开展|组织|出动|检查|建成|新建|培育|打造|配备|"
                          r"下设|覆盖|有|共|召开|举办|发放|印发|编印|走访|化解|调解|排查|受理|办理|处理|"
                          r"接待|培训|发现|提出|参与|完成|实现|落实|涉及|包括|[于在对向])了?$", text))


def _next_clause(sentence: str, end: int) -> str:
    """The clause after a date that opens a sentence: "8月16日，召开园区改革动员大会"."""
    return re.split(f"[{CLAUSE_BREAKS}]", sentence[end:].lstrip("，, "), maxsplit=1)[0][:20]


def extract_figures(sentence: str) -> list[Figure]:
    """All figures in ``sentence``, in order of appearance, each with what it counts."""
    spans: list[tuple[int, int, str, float | None, str, str | None]] = []  # start, end, text, value, unit, qual
    for match in _DATE_RE.finditer(sentence):
        if 1 <= int(match.group("m")) <= 12 and 1 <= int(match.group("d")) <= 31:
            spans.append((*match.span(), match.group(), None, "日期", None))
    for match in _FIGURE_RE.finditer(sentence):
        start, end = match.span()
        if any(s < end and start < e for s, e, *_ in spans) or not _plausible(sentence, match):
            continue
        value = _value(match.group("num"), match.group("mult"))
        if value is not None:
            unit = "%" if match.group("pct") else match.group("unit")
            qualifier = match.group("pre") or match.group("post1") or match.group("post2")
            number = int(value) if float(value).is_integer() else value
            spans.append((start, end, match.group(), number, unit, qualifier))
    figures, floor = [], 0
    for start, end, text, value, unit, qualifier in sorted(spans):
        subject = subject_of(sentence, start, end, floor)
        if unit == "日期" and not subject:
            subject = _next_clause(sentence, end)
        figures.append(Figure(text, value, unit, qualifier, subject, start, end))
        floor = end
    return figures
