"""Which government unit a report is of: 镇, 乡, 民族乡, 街道, 区, 县, 市, 局, 委, 办, 管理局 ….

Pure functions, no I/O. A unit is named by the report's issuer, looked for in this order:

1. the title (``民权县双塔镇人民政府关于2022年度…的报告`` → 双塔镇; ``城南区司法局2024年…`` → 城南区司法局);
2. the signature block at the end (``五常街道办事处`` on a line of its own above the date);
3. the body: of the towns and regions that clauses begin with (``2024年，五常街道认真学习…``), the one the
   body names most often (departments are not looked for there: the body of any report also names the
   司法局 or 县委 it reports to).

An issuer is read as a chain of levels (``天津市`` ``滨海新区`` ``杭州道街道``); the unit is its last level
(杭州道街道, 滨海新区, 民权县), a department keeps the region it belongs to (民权县司法局), and institution
words go (人民政府, 办事处, 管委会). A level is a name of at least two characters and its suffix, so 城市管理局
is one department and 新市镇 one town; 州 ends a level only in 自治州 (杭州道街道 stays whole).
"""

import re

TOWN_SUFFIXES = ("民族乡", "街道", "苏木", "镇", "乡")
REGION_SUFFIXES = ("自治区", "自治州", "自治县", "自治旗", "特别行政区", "新区", "地区", "省", "市", "盟", "县",
                   "旗", "区")
DEPARTMENT_SUFFIXES = ("片区管理局", "管理局", "委员会", "办公室", "中心", "局", "委", "办", "厅", "署")
_INSTITUTION = re.compile(r"(?:人民政府|政府|办事处|管理委员会|管委会|党工委|党委|党组)+$")
_PARTY = re.compile(r"^(?:中共|中国共产党)")
_GENERIC_START = set("哪各每几该本我全那这其某")
_CLAUSE_START = set("在对由向从经据按把将为以与和及今去明上下")  # 在区委…: a preposition, in the body only
_GENERIC = {"乡镇", "城镇", "村镇", "城乡", "集镇", "小镇", "街道", "城区", "新区", "地区", "市区", "县区"}
# Kinds of town in planning and awards, no town's name: "示范镇还迁", "建制镇", "全国重点镇".
TOWN_KINDS = ("示范镇", "示范乡", "重点镇", "中心镇", "特色镇", "建制镇", "小城镇")
# Places that end like a unit but are none: 永福社区, 居住小区, 产业园区, 示范镇, 家乡 ….
_NOT_UNIT_ENDINGS = ("社区", "小区", "园区", "景区", "城区", "辖区", "山区", "库区", "矿区", "牧区", "校区", "街区",
                     "厂区", "营区", "服务区", "功能区", "示范区", *TOWN_KINDS, "家乡", "故乡", "水乡", "侨乡", "瑶乡")
_SELF = set("我全本该各此每其")  # 我镇, 全区: a self-reference, not a name
_NOT_IN_NAME = re.compile(r"[和与及的、是了在有个委政府党]")
# A suffix followed by these starts a longer word: 镇村, 乡村, 区委, 县级, 区域, 市场, 县城 ….
_WORD_GOES_ON = set("村镇乡土亲贤里委级域城场民内外直属长")
_BREAKS = re.compile(r"[，,。；;：:、！？!?（）()《》“”\"'\s\u3000]+")
_TITLE_CUT = re.compile(r"关于|党委|党组|(?:19|20)\d\d\s*年度?|[〇零一二三四五六七八九]{4}年度?|年度|法治|依法|党政|"
                        r"述法|履行|工作|情况|报告|总结|汇报")
_DATE_LINE = re.compile(r"(?:19|20)\d\d\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*日)?)?|[〇零一二三四五六七八九十]+年"
                        r"[〇零一二三四五六七八九十]+月(?:[〇零一二三四五六七八九十]+日)?|[（(]盖章[）)]")
_SIGNATURE_LINES = 8
_PEOPLES = "土家|蒙古|布依|朝鲜|哈尼|傈僳|仡佬|毛南|纳西|拉祜|达斡尔|鄂温克|哈萨克|柯尔克孜"  # two or more characters


def unit_kind(name: str) -> str | None:
    """``town``, ``region`` or ``department`` by the suffix of ``name``; None when it has none."""
    for kind, suffixes in (("department", DEPARTMENT_SUFFIXES), ("town", TOWN_SUFFIXES),
                           ("region", REGION_SUFFIXES)):
        if name.endswith(suffixes):
            return kind
    return None


def _level_end(text: str, end: int) -> bool:
    """Whether a region (or town) level ends at ``text[:end]``: 天津市 | 滨海新区 | …"""
    head = text[:end]
    if head.endswith("州") and not head.endswith("自治州"):
        return False
    return head.endswith(REGION_SUFFIXES + ("镇", "街道"))


def _cuts(text: str) -> list[int]:
    """Where the levels of an issuer end, before its last level."""
    cuts, start = [], 0
    for end in range(2, len(text)):
        if _level_end(text, end):
            chunk = text[start:end]
            suffix = next(s for s in REGION_SUFFIXES + ("街道", "镇") if chunk.endswith(s))
            if len(chunk) - len(suffix) >= 2 and not _NOT_IN_NAME.search(chunk):
                cuts.append(end)
                start = end
    return cuts


def unit_of_issuer(text: str, kinds: tuple[str, ...] = ("town", "region", "department"), *,
                   in_body: bool = False) -> str | None:
    """The unit an issuer string names in full (``民权县双塔镇人民政府`` → 双塔镇), or None; ``in_body``: the
    string opens a clause of the body, where a first 在/对/向 … is a preposition (向集镇 is a town in a title)."""
    text = _INSTITUTION.sub("", _PARTY.sub("", re.sub(r"\s+", "", text)))
    kind = unit_kind(text)
    if kind not in kinds or not re.fullmatch(r"[\u4e00-\u9fff]{2,30}", text):
        return None
    suffix = next(s for s in DEPARTMENT_SUFFIXES + TOWN_SUFFIXES + REGION_SUFFIXES if text.endswith(s))
    cuts = [cut for cut in _cuts(text) if len(text) - cut - len(suffix) >= 2]  # 北塘片区管理局 is one level
    start = cuts[-1] if cuts else 0
    bare = text[start:-len(suffix)]
    if kind == "department":  # it keeps the region it belongs to: 民权县司法局
        start = cuts[-2] if len(cuts) >= 2 else 0
    name = text[start:]
    if len(bare) < 2:
        return None
    generic = name in _GENERIC or name.endswith(_NOT_UNIT_ENDINGS) or name[0] in _GENERIC_START
    not_a_name = bare[-1] in _SELF or (in_body and name[0] in _CLAUSE_START) or (
        kind != "department" and bool(_NOT_IN_NAME.search(bare)))
    return None if generic or not_a_name else name


def unit_of_title(title: str) -> str | None:
    """The issuer named in a title (or a caption, or a file name) before or between its year and topic."""
    for piece in _TITLE_CUT.split(re.sub(r"\s+", "", title)):
        for part in filter(None, re.split(r"[^\u4e00-\u9fff]+", piece)):
            unit = unit_of_issuer(part)
            if unit:
                return unit
    return None


def unit_of_signature(blocks: list[str]) -> str | None:
    """The issuer on a line of its own among the last lines (``杭州道街道办事处`` above ``2024年3月26日``)."""
    for block in reversed(blocks[-_SIGNATURE_LINES:]):
        line = _DATE_LINE.sub(" ", block).strip()
        if not line or len(line) > 40 or re.search(r"[，,。；;：:、！？!?]", line):
            continue
        parts = [re.sub(r"\s+", "", line), *line.split()]  # "双  塔  镇" spaced out, or "中共X镇委员会  X镇人民政府"
        units = [unit for unit in map(unit_of_issuer, parts) if unit]
        if units:  # the government before the party committee that signs with it
            return next((unit for unit in units if unit_kind(unit) != "department"), units[0])
    return None


def _clause_unit(clause: str) -> str | None:
    """The town or region a clause begins with (``关坝镇以习近平法治思想为指导`` → 关坝镇)."""
    for end in range(min(len(clause), 10), 2, -1):
        if end < len(clause) and clause[end] in _WORD_GOES_ON:
            continue
        unit = unit_of_issuer(clause[:end], ("town", "region"), in_body=True)
        if unit:
            return unit
    return None


def body_units(body: str) -> list[str]:
    """Towns and regions that clauses of ``body`` begin with, in order (a year or 在…下 before them skipped)."""
    found = []
    for clause in _BREAKS.split(body):
        clause = re.sub(r"^(?:(?:19|20)\d\d年度?|这一年|今年|近年来|一年来)", "", clause)
        unit = _clause_unit(clause) if clause else None
        if unit:
            found.append(unit)
    return found


def unit_of_body(body: str) -> str | None:
    """The unit that clauses of the body begin with and the body names most often (the first on a tie):
    a clause that begins with a verb (推进太平镇…) names the unit less often than the unit itself."""
    candidates = list(dict.fromkeys(body_units(body)))
    return max(candidates, key=body.count) if candidates else None


def unit_of_report(title: str, blocks: list[str], body: str) -> str | None:
    """The unit of a report: title, else signature block, else the body."""
    return unit_of_title(title) or unit_of_signature(blocks) or unit_of_body(body)


def short_names(unit: str) -> tuple[str, ...]:
    """How a question may name ``unit``: in full, without its suffix (双塔镇 → 双塔, 城南区 → 城南), a 民族乡
    without its people (罗子山瑶族乡 → 罗子山), a department without its region (民权县司法局 → 司法局)."""
    names = [unit]
    kind = unit_kind(unit)
    if kind == "department":
        cuts = [cut for cut in _cuts(unit) if len(unit) - cut >= 3 and unit[cut:] not in DEPARTMENT_SUFFIXES
                and not unit[:cut].endswith("片区")]  # 北塘片区管理局 is one name: not a 管理局 of 北塘片区
        if cuts:
            names.append(unit[cuts[-1]:])
    elif kind is not None:
        suffix = next(s for s in TOWN_SUFFIXES + REGION_SUFFIXES if unit.endswith(s))
        if len(unit) - len(suffix) >= 2:
            names.append(unit[:-len(suffix)])
        ethnic = re.fullmatch(rf"(.{{2,}}?)(?:(?:{_PEOPLES}|[\u4e00-\u9fff])族)+乡", unit)  # 罗子山瑶族乡 → 罗子山
        if ethnic:
            names.append(ethnic.group(1))
    return tuple(names)
