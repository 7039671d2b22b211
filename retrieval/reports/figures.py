"""Figures in report sentences: numbers with their measure word, qualifier and what they count.

Pure functions, no I/O. ``extract_figures("统筹20个人民调解委员会、专兼职人民调解员63名")`` gives
``20个`` (subject 人民调解委员会) and ``63名`` (subject 专兼职人民调解员); the text of a figure is always
copied from the sentence, qualifier included (``40余场``, ``约800人次``, ``十余次``, ``超过1000人次``,
``30人以上``).

What a figure is, ``Figure.kind``, and the group a question asks for, ``Figure.group``:

- ``count`` (the default): a number and its measure word; the group is the measure word's group in
  ``UNIT_GROUPS`` (``person`` 名/人/位, ``times`` 次/场/期, ``case`` 件/起, ``item`` 份/项/条, ``org`` 家/所,
  ``level`` 级, ``score`` 分 (digits only), ``money`` 元, ``percent`` %, ``generic`` 个 …). Chinese numerals
  count too (``三项保障机制``, ``“三个结合”``, ``二期``), except the value one (``一人一档``), ordinals
  (``第三``), idioms that list (``一办一庭两所``), names inside quotes (``“铁十条”``, ``“三年拆违”``) and
  lengths (``八米河``).
- ``date`` (group ``date``, unit ``日期``, value None): ``2021年7月12日``, ``7月12日``, ``2021年7月``,
  ``12月``, ``1-6月``, ``10月中旬``, ``11月底``, ``2021年底``, ``上半年``, ``二〇二六年二月九日``, ``“12·4”``,
  ``“4.15”``. A year alone
  (``2021年``) is no figure.
- ``duration`` (group ``duration``): ``3个月``, ``半年``, ``30分钟``, ``两年``, ``24小时``, ``5个工作日``.
- ``frequency`` (group ``frequency``): ``每半个月``, ``每月``, ``每周2次``, ``每月一次``, ``一月一次``, ``按季度``;
  ``period`` is the period (``周``, ``半个月``), ``value`` the count per period (None when not said), ``unit``
  the count's measure word (``UNIT_GROUP[unit]`` still says ``times``) or the period's.

``bound`` says how the number bounds the quantity: ``min`` (以上, 不少于, 至少, 超过, 突破, 余, 多 …),
``max`` (以下, 以内, 不超过, 不足, 不到) or ``about`` (左右, 约, 近 …). A range (``2-3个``, ``2至3个``,
``三至五个``) has ``value`` 2 and ``high`` 3.
"""

import re
from dataclasses import dataclass

# The version of what indexing extracts (these figures, and the rows ``ledger_rows`` makes of them): raise it
# whenever either changes, and a store indexed before makes its figure rows again when next opened.
EXTRACTION = "4"
# Measure words, grouped by what they count; a question asking for one group accepts the whole group.
UNIT_GROUPS: dict[str, tuple[str, ...]] = {
    "person": ("人口", "名", "人", "位"),
    "person_times": ("人次",),
    "times": ("次", "场次", "场", "期", "轮", "遍", "批次", "回", "车次", "台次", "辆次", "架次", "堂"),
    "case": ("件", "起", "宗", "例", "件次"),
    "org": ("家", "所", "支", "队"),
    "visit": ("家次", "户次", "批", "个次"),
    "money": ("元",),
    "percent": ("%",),
    "date": ("日期",),
    "item": ("份", "项", "条", "本", "册", "张", "篇", "套", "台", "辆", "盏", "块", "幅", "处", "座", "栋",
             "间", "面", "枚", "部", "首", "类", "种", "卷"),
    "area": ("平方米", "平方公里", "公里", "千米", "米", "亩"),
    "weight": ("吨", "公斤", "千克"),
    "household": ("户",),
    "level": ("级",),
    "score": ("分",),
    "generic": ("个", "组"),
    "duration": ("天", "小时", "个小时", "分钟", "个月", "年", "周", "个星期", "个工作日", "工作日", "个季度"),
    "frequency": (),  # every kind of "每…": the figure's own measure word stays in ``unit``
}
UNIT_GROUP = {unit: group for group, units in UNIT_GROUPS.items() for unit in units}
_UNITS = sorted((u for u in UNIT_GROUP if u not in ("%", "日期")), key=len, reverse=True)
_DURATION = frozenset(UNIT_GROUPS["duration"])
KINDS = ("count", "date", "duration", "frequency")

PREFIX_QUALIFIERS = ("将近", "接近", "超过", "突破", "大约", "不足", "不到", "多达", "高达", "不少于", "不低于",
                     "不超过", "至少", "约", "近", "超", "逾")
SUFFIX_QUALIFIERS = ("以上", "以下", "以内", "左右")
BOUNDS = {"以上": "min", "不少于": "min", "不低于": "min", "至少": "min", "超过": "min", "突破": "min", "超": "min",
          "逾": "min", "多达": "min", "高达": "min", "余": "min", "多": "min", "以下": "max", "以内": "max",
          "不超过": "max", "不足": "max", "不到": "max", "左右": "about", "约": "about", "大约": "about",
          "近": "about", "将近": "about", "接近": "about"}
_CN_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}
_CN_SMALL = {"十": 10, "百": 100, "千": 1000}
_MULTIPLIERS = {"万": 10_000, "亿": 100_000_000}
_ALONE = {"半": 0.5, "万": 10_000.0}  # a number written without digits before it: 半年, 万余人
# Lengths, areas and weights are printed in digits; spelled out they are names ("八米河").
_NOT_SPELLED = frozenset(UNIT_GROUPS["area"] + UNIT_GROUPS["weight"])
_AFTER_DURATION = set("，,。；;：:、！？!?》）)”\n内来里后前间的多余以左中时之期")  # 两年来, 半年内, 历时两年，
_QUOTED_COUNTS = frozenset("个 项 大 条".split())  # “三个结合”, “四个走遍”: a count opening a quoted name

_AR = r"\d+(?:,\d{3})*(?:\.\d+)?"
_CN = r"[零〇一二两三四五六七八九十百千]+"
_RANGE = r"\s*[-~～至到—]\s*"
_FIGURE_RE = re.compile(
    rf"(?P<pre>{'|'.join(PREFIX_QUALIFIERS)})?"
    rf"(?P<num>{_AR}(?:{_RANGE}{_AR})?|{_CN}(?:[至到]{_CN})?|半|万(?=[余多]))"  # 万余人: over ten thousand
    r"(?P<post1>余|多)?(?P<mult>[万亿])?(?P<post2>余|多)?"
    rf"(?:(?P<pct>\s?[%％])|\s?(?P<unit>{'|'.join(_UNITS)}))"
    rf"(?P<bound>{'|'.join(SUFFIX_QUALIFIERS)})?"
)
_CN_MONTH = r"(?:十[一二]|[一二三四五六七八九十])"
_DATE_RE = re.compile(
    r"(?:(?P<y>(?:19|20)\d\d)\s*年\s*)?(?<![\d.])(?P<m>\d{1,2})(?:\s*[-~～至到]\s*(?P<m2>\d{1,2}))?\s*月"
    r"(?:\s*(?P<d>\d{1,2})\s*[日号]|份?(?P<part>上旬|中旬|下旬|初|底|末)?)(?![\d个])"
    rf"|[〇零一二三四五六七八九]{{4}}年{_CN_MONTH}月(?:[一二三]?十?[一二三四五六七八九十]日)?"
    rf"|(?<![\d.])(?P<y2>(?:19|20)\d\d)\s*年\s*(?:底|初|末|上半年|下半年)|(?<![\u4e00-\u9fff])[上下]半年"
    r"|(?<![\d.·・])(?:1[0-2]|[1-9])[·・](?:[12]\d|3[01]|[1-9])(?![\d.])|(?<=“)(?:1[0-2]|[1-9])\.(?:[12]\d|3[01]|[1-9])(?=”)"
)
_PERIOD = r"(?:半|\d+|[两二三四五六七八九十]+)?个?(?:季度|年度|年|月|周|星期|旬|天|日)"
_FREQUENCY_RE = re.compile(
    rf"每(?P<period>{_PERIOD})(?:(?P<fpre>至少|不少于|最少)?(?P<count>\d+|[一两二三四五六七八九十]+)"
    r"(?P<cunit>次|场|期|回|轮))?"
    r"|(?<![\d零〇一二两三四五六七八九十])(?P<period2>[一两二三]个?(?:季度|月|周|星期))(?P<count2>[一两二三])(?P<cunit2>次)"
    r"|按(?P<period3>季度|月|周|旬)(?![份度])"
)
# Where a clause ends: the subject of a figure never reaches across these.
CLAUSE_BREAKS = "，,。；;：:、！？!?《》\n"
# Where a noun after a classifier ends ("104名调解员常年活跃…" → 调解员).
_NOUN_END = set("在是的了为将对把被由从向与及并已均都常得到等进参开")
_LEADING_FILLER = re.compile(r"^(?:[年月日的]|其中|共计|共有|合计|总共|累计|共|有|为|达到|达|是|全年|今年来?|"
                             r"目前|截止目前|"
                             r"我镇|本镇|全镇|我乡|全乡)+")
_TRAILING_FILLER = re.compile(r"(?:共计|总计|合计|总共|累计|共有|达到|达|为|共|约|了)+$")


@dataclass(frozen=True)
class Figure:
    """A figure as printed in a sentence.

    ``value`` is in base units (``18.39万元`` → 183900.0, unit ``元``); ``None`` for dates.
    ``start``/``end`` locate ``text`` in the sentence it came from. ``kind``, ``bound``, ``high`` and
    ``period``: see the module docstring.
    """

    text: str
    value: float | None
    unit: str
    qualifier: str | None
    subject: str
    start: int
    end: int
    kind: str = "count"
    bound: str | None = None
    high: float | None = None
    period: str | None = None

    @property
    def group(self) -> str:
        if self.kind in ("date", "frequency"):
            return self.kind
        return UNIT_GROUP.get(self.unit, "generic")


def cn_number(text: str) -> int | None:
    """Value of a Chinese numeral below 10,000 (``十`` 10, ``二十三`` 23, ``一百零五`` 105); None for
    anything else (``两三`` is no numeral)."""
    total, digit = 0, None
    for char in text:
        if char in _CN_DIGITS:
            if digit:
                return None
            digit = _CN_DIGITS[char]
        elif char in _CN_SMALL:
            total += (1 if digit is None else digit) * _CN_SMALL[char]
            digit = None
        else:
            return None
    return total + (digit or 0)


def _number(text: str) -> float | None:
    if text in _ALONE:
        return _ALONE[text]
    if text[0].isdigit():
        return float(text.replace(",", ""))
    return cn_number(text)


def _values(num: str, mult: str | None) -> tuple[float | None, float | None]:
    """The value of a number (the low end of a range) and the high end of a range, in base units."""
    parts = re.split(_RANGE if num[0].isdigit() else "[至到]", num)
    scale = _MULTIPLIERS.get(mult or "", 1)
    low, high = _number(parts[0]), _number(parts[1]) if len(parts) > 1 else None
    return (round(low * scale, 6) if low is not None else None,
            round(high * scale, 6) if high is not None else None)


def _quoted(sentence: str, start: int) -> bool:
    return sentence.count("“", 0, start) > sentence.count("”", 0, start)


def _plausible(sentence: str, match: re.Match[str]) -> bool:
    """Reject ordinals, years, list markers and idioms that only look like figures."""
    start, unit, num = match.start("num"), match.group("unit"), match.group("num")
    before = sentence[start - 1] if start else ""
    after = sentence[match.end():match.end() + 1]
    if before and (before in "第." or before.isdigit()):
        return False
    if unit == "年" and (re.search(r"(?:19|20)\d\d", num) or after in "度代级初底末"):
        return False  # 2021年, 2020-2022年, 2021年度, 90年代: years, not a duration
    if unit == "周" and after in "年岁":
        return False  # 100周年, 18周岁
    if num[0].isdigit():
        return True
    if unit == "分":
        return False  # 十分重视: "very", not a score
    if unit in _DURATION and after and after not in _AFTER_DURATION:
        return False  # 三年行动方案, 半年工作总结: a duration naming a plan, not a figure
    if num == "半":
        return unit in _DURATION and before not in "上下一大多"
    value = _number(re.split("[至到]", num)[0])
    if value in (None, 0, 1) or unit in _NOT_SPELLED or (before and before in _CN_DIGITS):
        return False
    if _quoted(sentence, start):  # a name in quotes: “铁十条”, “三年拆违”; a count opens it: “三个结合”
        return before == "“" and unit in _QUOTED_COUNTS
    listing = start >= 2 and sentence[start - 2] in _CN_DIGITS and (
        (start >= 4 and sentence[start - 4] in _CN_DIGITS) or after in _CN_DIGITS)
    return not listing  # 一办一庭两所: an idiom that lists, not a count


def subject_of(sentence: str, start: int, end: int, floor: int = 0, *, noun_first: bool = False) -> str:
    """What a figure at ``sentence[start:end]`` counts: the noun after a classifier, else the clause before
    (never reaching back past ``floor``, the end of the previous figure). ``noun_first``: a noun right after
    the figure wins (a spelled-out count names what it counts: 三项保障机制)."""
    tail = sentence[end + 1:] if sentence[end:end + 1] == "的" else sentence[end:]
    after = []
    for char in tail[:10]:
        if char in CLAUSE_BREAKS or char in _NOUN_END or char.isdigit() or char == "”":
            break
        after.append(char)
    left = start
    while left > floor and sentence[left - 1] not in CLAUSE_BREAKS and not sentence[left - 1].isdigit():
        left -= 1
    raw_before = _LEADING_FILLER.sub("", sentence[left:start]).strip("“”\"' 　")
    before = _TRAILING_FILLER.sub("", raw_before)
    after_text = "".join(after).strip("“”\"' 　")
    # 30人以上的平安志愿者队伍: a bound then 的 qualifies the noun after, which is what is counted
    attributive = sentence[end:end + 1] == "的" and sentence[:end].endswith(SUFFIX_QUALIFIERS)
    if after_text and (not before or noun_first or attributive or _ends_with_verb(raw_before)):
        return after_text
    return before or after_text


def _ends_with_verb(text: str) -> bool:
    """A clause that ends with an action ("统筹", "组建", "出动") names its object after the figure."""
    return bool(re.search(r"(统筹|组建|建立|设立|成立|聘请|开展|组织|出动|检查|建成|新建|培育|打造|配备|"
                          r"下设|覆盖|有|共|召开|举办|发放|印发|编印|走访|化解|调解|排查|受理|办理|处理|"
                          r"接待|培训|发现|提出|参与|完成|实现|落实|涉及|包括|配套|完善|做好|[于在对向])了?$", text))


def _clause_before(sentence: str, start: int, floor: int) -> str:
    left = start
    while left > floor and sentence[left - 1] not in CLAUSE_BREAKS:
        left -= 1
    return sentence[left:start].strip("“”\"' 　")


def _next_clause(sentence: str, end: int) -> str:
    """The clause after a date that opens a sentence: "8月16日，召开园区改革动员大会"."""
    return re.split(f"[{CLAUSE_BREAKS}]", sentence[end:].lstrip("，, "), maxsplit=1)[0][:20]


# A span found before subjects are known: start, end, text, value, unit, qualifier, kind, high, period.
_Span = tuple[int, int, str, float | None, str, str | None, str, float | None, str | None]


def _date_spans(sentence: str) -> list[_Span]:
    spans: list[_Span] = []
    for match in _DATE_RE.finditer(sentence):
        months = [int(m) for m in (match.group("m"), match.group("m2")) if m]
        day = int(match.group("d")) if match.group("d") else 1
        if all(1 <= m <= 12 for m in months) and 1 <= day <= 31:
            spans.append((*match.span(), match.group(), None, "日期", None, "date", None, None))
    return spans


def _frequency_spans(sentence: str) -> list[_Span]:
    spans: list[_Span] = []
    for match in _FREQUENCY_RE.finditer(sentence):
        period = match.group("period") or match.group("period2") or match.group("period3")
        count, unit = match.group("count") or match.group("count2"), match.group("cunit") or match.group("cunit2")
        value = _tidy(_number(count)) if count else None
        period_unit = re.sub(r"^(?:半|\d+|[一两二三四五六七八九十]+)", "", period)
        spans.append((*match.span(), match.group(), value, unit or period_unit, match.group("fpre"),
                      "frequency", None, period))
    return spans


def _count_spans(sentence: str, taken: list[_Span]) -> list[_Span]:
    spans: list[_Span] = []
    for match in _FIGURE_RE.finditer(sentence):
        start, end = match.span()
        if any(s < end and start < e for s, e, *_ in taken) or not _plausible(sentence, match):
            continue
        value, high = _values(match.group("num"), match.group("mult"))
        if value is None:
            continue
        unit = "%" if match.group("pct") else match.group("unit")
        qualifier = match.group("pre") or match.group("post1") or match.group("post2") or match.group("bound")
        kind = "duration" if unit in _DURATION else "count"
        spans.append((start, end, match.group(), _tidy(value), unit, qualifier, kind, _tidy(high), None))
    return spans


def _tidy(value: float | None) -> float | None:
    return int(value) if value is not None and float(value).is_integer() else value


def extract_figures(sentence: str) -> list[Figure]:
    """All figures in ``sentence``, in order of appearance, each with what it counts."""
    spans = _date_spans(sentence)
    spans += [s for s in _frequency_spans(sentence) if not any(o[0] < s[1] and s[0] < o[1] for o in spans)]
    spans += _count_spans(sentence, spans)
    figures, floor = [], 0
    for start, end, text, value, unit, qualifier, kind, high, period in sorted(spans):
        noun_first = not text[0].isdigit() and UNIT_GROUP.get(unit) in ("generic", "item")
        subject = subject_of(sentence, start, end, floor, noun_first=noun_first)
        if kind == "frequency":  # who does what how often: 机关各单位(每半个月)上报一次办实事项目清单进度
            rest = re.split(f"[{CLAUSE_BREAKS}]", sentence[end:], maxsplit=1)[0][:20]
            subject = _clause_before(sentence, start, floor) + rest
        elif kind == "date" and len(subject) < 2:
            subject = _next_clause(sentence, end)
        bound = BOUNDS.get(qualifier or "") or next((BOUNDS[w] for w in SUFFIX_QUALIFIERS if text.endswith(w)), None)
        figures.append(Figure(text, value, unit, qualifier, subject, start, end, kind, bound, high, period))
        floor = end
    return figures
