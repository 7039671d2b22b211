"""Understanding a question: which town and year, what kind of answer, what topic, which measure word.

Towns are matched against the corpus's own towns: in full (太平镇), without the suffix (太平), with one
wrong character (中糖镇), in traditional characters (太平鎮, via OpenCC) and in pinyin (Taiping town).
A follow-up ("那双塔镇呢？", "处罚了几家？") takes what it lacks from the previous question.
"""

import re
import threading
import unicodedata
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from functools import cache

from retrieval.answers.meaning.synonyms import DOMAIN, thesaurus
from retrieval.answers.question import qualifiers
from retrieval.answers.question.english import EnglishRead, Reading, read_english
from retrieval.answers.question.kinds import EXAMPLE, LEAST, MOST, REPORT_DATE, WHO, asks_quantity, kind
from retrieval.answers.question.measures import asked_groups
from retrieval.answers.question.towns import TownIndex, abbreviations, aliases, find_towns, places, region_names, stem
from retrieval.reports.documents import towns_in
from retrieval.reports.figures import UNIT_GROUP
from retrieval.search.tokenize import STOPWORDS, Tokenizer

_YEAR = re.compile(r"(20\d\d)(?:\s*年度?|(?=\s|$|[，,？?。]))")
# Question words, measures and fillers; 量 is the amount of something (审查量).
_SCAFFOLD = re.compile(r"^(多少.*|多[长大宽高远重久].*|几.?|哪.*|什么.*|怎么.*|如何|最多|最少|总额|总数|数量|人数|"
                       r"金额|次数|件数|场次|钱|多少钱|比例|比率|占比|百分比|频率|频次|日期|时间|几号|面积|"
                       r"例子|案例|做法|经验|举例|具体|分别|都是|各|各镇|全部|全都|那|呢|有没有|是不是|类|量|"
                       r"[两三四五六七八九十]个|[镇乡县区市局委旗]|"  # "三个镇", "哪个县": the units compared
                       r"(?:我们?|本|咱们?)(?:镇|乡|街道|区|县|市|局|委|办|单位)?)$")  # 我局, 本镇: the asker's own
# "注册志愿者里党员有多少", "被处罚的企业中危化企业几家": a part of a whole is asked for.
_WITHIN = re.compile(r"里面|里头|当中|之中|其中|里|中")
_WITHIN_PART = re.compile(r"(?:的)?([\u4e00-\u9fff]{1,8}?)(?:有|占|是|为)?(?:多少|几)")
# "除了主要领导，其他干部…", "不算绿化那块": words the figure must not be about.
_EXCLUDED = re.compile(r"(?:除了|除去|除开|不算|不包括|不含|不计|排除)([^，,。？?；;]{1,12}?)"
                       r"(?:以外|之外|外|那块|那部分|那一块|部分)?(?=[，,。？?；;）)]|以外|之外|外|$)")
# The unit's own institution written after its name: 关坝镇政府, 城南区人民政府, 五常街道办 (not 党委: 党委中心组
# and 党委会 are what is asked about).
_INSTITUTION = r"(?:人民政府|[镇乡区县市]?政府|办事处|管委会)?"
_STREET_OFFICE = r"(?:办事处|办(?![了理结件过完好成事实案公证]))?"
# "有次数的说一下", "给我列一下": the asking, not what is asked about.
_REQUEST = re.compile(r"(?:请|麻烦)?(?:给我|帮我|跟我)?(?:说|讲|列|报|查|看|统计|汇总|告诉我)"
                      r"(?:一下|一哈|下(?=[，,。？?！!\s]|$))|告诉我")  # not 检查下属单位, 送法下乡
_EACH = re.compile(r"^(.+?)各(?:有|是|为)?((?:几|多少).*)$")
# "其中重点人员呢？": the question before, asked of X
_SAME_ASKED = re.compile(r"^(?!.*(?:啥|什么|哪|怎|如何|咋)).*呢[？?]?$")
_ASKS = re.compile(r"(?:多少|(?<!哪)几)[个名位家件项条所支]?(?=[\u4e00-\u9fff])")
_NEAR_ASKS = re.compile(r"多少|(?<!哪)几|多[长大久]|哪天|什么时候|啥时候")
_NEAR_LINK = re.compile(r"(?:一共|总共|共计|累计|共|有过|都|又|还|已经|了|有|是|为|达到|达|的|情况)+$")
_NEAR_SPAN = 6  # characters before the question word
_CJK_ONLY = re.compile(r"^[\u4e00-\u9fff]+$")
# Particles, adverbs, pronouns, prepositions, conjunctions, interjections: never what a question is about.
_FUNCTION_FLAGS = ("u", "d", "r", "p", "c", "e", "y", "o")
_NOUN_FLAGS = ("n", "vn", "nz", "nt", "ns", "nr", "l", "i", "j", "eng")


@dataclass(frozen=True)
class Query:
    """A question as the answer core understands it."""

    text: str
    towns: tuple[str, ...] = ()
    unknown_towns: tuple[str, ...] = ()
    year: int | None = None
    kind: str = "figure"  # figure | multi | example | compare
    terms: tuple[tuple[str, float], ...] = ()  # topic terms with weights
    groups: tuple[str, ...] = ()  # measure-word groups the answer may use; empty: any
    most: bool = False  # asks which is most/least
    least: bool = False  # … and it is the least
    quantity: bool = True  # asks for a figure (多少, 几, 哪天 …)
    context: tuple[tuple[str, float], ...] = ()  # the previous question's topic, for a follow-up
    english: bool = False
    inherited: bool = False  # the topic comes from the previous question ("那双塔镇呢？")
    parts: tuple["Query", ...] = ()  # several figures asked at once ("出动多少人次、查了多少企业")
    bare: bool = False  # the topic is only the counted noun ("有几个村？"): a total is asked for
    cue: bool = False  # asks for a practice or a name in so many words (例子, 做法, 怎么…, 是谁), not just keywords
    verbs: tuple[str, ...] = ()  # the question's verbs ("完成了多少件": 完成)
    excluded: tuple[str, ...] = ()  # topic words the answer must not be about ("除了主要领导")
    counted: str = ""  # the noun right after the question word ("几个村" → 村)
    within: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())  # "志愿者里党员有多少": (志愿者,), (党员,)
    places: tuple[str, ...] = ()  # villages and communities it names ("红溪村")
    report_date: bool = False  # asks when the report itself was signed ("报告是哪天报的")
    qualifiers: tuple[str, ...] = ()  # what the figure must say too: not done, an average, a plan
    near: tuple[str, ...] = ()  # topic words right before the question word ("接待来访群众多少人次": 来访, 群众)

    earlier: str = ""  # in a conversation, the topic words of the question before that this one lacks
    reworded: str = ""  # the reports' words for its everyday words they never use (一把手 → 主要领导)

    @property
    def search(self) -> str:
        """The text passages are searched with: the reports' words for everyday ones, and for a follow-up
        the topic of the question before it ("其中重点人员呢？" is searched with 社区矫正对象)."""
        return " ".join(filter(None, (self.text, self.reworded, self.earlier)))


def normalize(question: str) -> str:
    """Simplified characters, half-width digits and letters, no surrounding blanks."""
    return _t2s().convert(unicodedata.normalize("NFKC", question)).strip()


@cache
def _t2s():  # type: ignore[no-untyped-def]
    import opencc

    return _Locked(opencc.OpenCC("t2s"))


class _Locked:
    """OpenCC converters are not documented as thread-safe; serialise them."""

    def __init__(self, converter) -> None:  # type: ignore[no-untyped-def]
        self._converter, self._lock = converter, threading.Lock()

    def convert(self, text: str) -> str:
        with self._lock:
            return str(self._converter.convert(text))


def _rejoin(tagged: list[tuple[str, str]], known: Callable[[str], bool]) -> list[tuple[str, str]]:
    """Words of the reports that jieba cut apart in the question ("还迁" as 还/迁, "瞪羚的" as 瞪/羚的): pieces
    are joined again where the reports use them as one word and a piece is a lone character or a word the
    reports never use."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(tagged):
        word, flag = tagged[i]
        text = "".join(w for w, _ in tagged[i:i + 4])
        joined = "" if flag.startswith(("m", "q")) or word in UNIT_GROUP else next(  # not 个+村: 几个村
            (text[:n] for n in range(min(len(text), 6), len(word), -1)
             if _CJK_ONLY.match(text[:n]) and known(text[:n])), "")
        pieces, used = [], 0
        while joined and used < len(joined):
            pieces.append(tagged[i + len(pieces)][0])
            used += len(pieces[-1])
        split = used > len(joined) and known(pieces[-1])  # "和行" would cut a word of the reports: 行政处罚
        if joined and not split and any(len(p) == 1 or not known(p) for p in pieces):
            out.append((joined, "n"))
            rest = used - len(joined)
            if rest:
                out.append((pieces[-1][-rest:], tagged[i + len(pieces) - 1][1]))
            i += len(pieces)
        else:
            out.append(tagged[i])
            i += 1
    return out


def _unglue(tagged: list[tuple[str, str]], known: Callable[[str], bool]) -> str | None:
    """The measure word after a question word, when jieba glued it to the noun that follows into a word the
    reports never use ("多少套房" as 多少/套房): the topic with it set apart, so that the measure word asks for
    the figure's kind and only a noun of two characters or more ("几名律师顾问") stays a topic word; None when
    nothing was glued."""
    out: list[str] = []
    glued = False
    for word, _ in tagged:
        head = out[-1] if out else ""
        unit = next((word[:n] for n in range(len(word) - 1, 0, -1) if word[:n] in UNIT_GROUP), "")
        if unit and head.endswith(("多少", "几")) and not known(word):
            tail = word[len(unit):]
            out.extend([unit, " ", tail if len(tail) >= 2 else ""])
            glued = True
        else:
            out.append(word)
    return "".join(out) if glued else None


def _within(topic: str, tagged: list[tuple[str, str]], known: Callable[[str], bool] | None) -> tuple[str, str] | None:
    """"志愿者里党员有多少": the whole and the part asked of it; not where 中 / 里 is part of a word the reports
    use ("理论学习中心组专题学习几次", "矛调中心处理率是多少" ask no part)."""
    spans, at = [], 0
    for word, _ in tagged:  # where each word of the topic stands (the tagger leaves out blanks)
        at = topic.find(word, at)
        spans.append((at, word))
        at += len(word)
    for marker in _WITHIN.finditer(topic):
        word = next((w for start, w in spans if start <= marker.start() < start + len(w)), "")
        if word != marker.group() and known is not None and known(word):
            continue
        whole = re.search(r"[\u4e00-\u9fff]{2,12}$", topic[:marker.start()])
        part = _WITHIN_PART.match(topic, marker.end())
        if whole and part:
            return whole.group(), part.group(1)
    return None


def _counted(topic: str, tagged: Callable[[str], list[tuple[str, str]]]) -> str:
    """The nouns right after the question word ("几个村派驻法治讲师" → 村), if any follow."""
    after = _ASKS.search(topic)
    nouns = []
    for word, flag in tagged(topic[after.end():after.end() + 8]) if after else []:
        if not flag.startswith(("n", "zg")):  # "多少重度残疾人办了…": the nouns right after the question word
            break
        nouns.append(word)
    return "".join(nouns[1:] if nouns and nouns[0] in UNIT_GROUP else nouns)  # "多少件": 件 is the measure


def analyze(question: str, known_towns: "Sequence[str] | TownIndex", tokenizer: Tokenizer,
            known: Callable[[str], bool] | None = None, english_read: EnglishRead | None = None) -> Query:
    """Parse one question on its own (no conversation); ``known`` says whether the reports use a word;
    ``english_read`` maps an English question's words to the reports' (else a small glossary does)."""
    text = normalize(question)
    towns, unknown = find_towns(text, known_towns)
    year_match = _YEAR.search(text)
    topic = text
    spelled = sorted({a for t in towns for a in (t, *aliases(t), *abbreviations(text, t), *region_names(t))},
                     key=len, reverse=True)
    cut = [t[:k] for t in spelled for k in range(len(t) - 1, len(stem(t)), -1)]  # "杭州道街" of 杭州道街道
    for name in [*spelled, *unknown, *towns_in(text), *cut, *map(stem, spelled)]:
        topic = re.sub(re.escape(name) + (_STREET_OFFICE if name.endswith("街道") else _INSTITUTION), " ", topic) \
            if name else topic
    topic = _REQUEST.sub(" ", _YEAR.sub(" ", topic))
    excluded = [w for m in _EXCLUDED.finditer(topic) for w in tokenizer.terms(m.group(1))]
    topic = _EXCLUDED.sub(" ", topic)
    english = not re.search(r"[\u4e00-\u9fff]", text)
    year = int(year_match.group(1)) if year_match else None
    reading = read_english(topic, towns, year, english_read) if english else Reading()
    terms: dict[str, float] = dict(reading.terms)
    verbs: list[str] = []
    asks_practice = bool(EXAMPLE.search(text)) and not asks_quantity(text)
    tagged = tokenizer.tagged(topic)
    unglued = _unglue(tagged, known) if known and not english else None
    if unglued is not None:
        topic, tagged = unglued, tokenizer.tagged(unglued)
    for word, flag in _rejoin(tagged, known) if known else tagged:
        scaffold = word in STOPWORDS or word in UNIT_GROUP or _SCAFFOLD.match(word)
        place = flag == "f"  # 底下, 下面, 里头: where, not what ("镇底下一共几个村")
        function = flag.startswith(_FUNCTION_FLAGS) or (flag == "a" and len(word) == 1)  # 着, 乱, 有啥, 好
        cue = asks_practice and any(m.end() == len(word) for m in EXAMPLE.finditer(word))  # 新花样: asked for
        if scaffold or place or function or cue or english or not re.search(r"[\u4e00-\u9fffA-Za-z]", word) \
                or word == "其他":
            continue
        terms[word] = 1.0 if flag.startswith(_NOUN_FLAGS) else 0.5
        if flag.startswith("v") and len(word) >= 2:
            verbs.append(word)
    counted_noun = reading.counted or _counted(topic, tokenizer.tagged)
    bare = not terms and bool(counted_noun)
    part = _within(topic, tagged, known)
    within = (tuple(tokenizer.terms(part[0])), tuple(tokenizer.terms(part[1]))) if part else ((), ())
    if bare:  # "有几个村？": the counted noun is the whole topic
        terms[counted_noun] = 1.0
    if english and terms:  # BM25 and the thesaurus read Chinese: the question carries the report's words too
        text = f"{text} {' '.join(terms)}"
    reworded = [other for term in terms if known and not known(term) for other in _reports_words(term)]
    return Query(
        text=text,
        towns=tuple(towns),
        unknown_towns=tuple(unknown),
        year=year,
        kind=kind(text, towns),
        terms=tuple(terms.items()),
        groups=asked_groups(text, topic, [t for t, w in terms.items() if w >= 1.0], counted_noun),
        most=bool(MOST.search(text)),
        least=bool(LEAST.search(text)),
        quantity=asks_quantity(text),
        english=english,
        excluded=tuple(excluded),
        bare=bare,
        counted=counted_noun,
        within=within,
        places=places(topic),
        cue=bool(EXAMPLE.search(text) or WHO.search(text)),
        verbs=tuple(verbs),
        report_date=bool(REPORT_DATE.search(text)),
        qualifiers=qualifiers.asked(text),
        near=_near(topic, terms),
        reworded=" ".join(dict.fromkeys(reworded)),
    )


def _near(topic: str, terms: Collection[str]) -> tuple[str, ...]:
    """The topic words that stand right before the question word, where a report puts the words of the figure
    it asks for ("值班律师接待来访群众多少人次" ~ "接待来访群众约800人次")."""
    asks = _NEAR_ASKS.search(topic)
    tail = _NEAR_LINK.sub("", topic[:asks.start()])[-_NEAR_SPAN:] if asks else ""
    tail = tail.rsplit("的", 1)[-1] if len(tail.rsplit("的", 1)[-1]) >= 2 else tail  # 安保的出勤率: 出勤率
    return tuple(t for t in terms if t in tail)


def _reports_words(word: str, most: int = 3) -> list[str]:
    """The words the domain file (``retrieval/data/synonyms.txt``) gives for ``word``, the reports' first."""
    return [other for other, weight in thesaurus().related(word).items() if weight >= DOMAIN][:most]


def follow(query: Query, previous: Query | None, conversation: bool = True) -> Query:
    """Fill what a follow-up lacks (town and year, or the topic) from the previous question (``conversation``:
    one asked before it, rather than the whole of a question it is a part of)."""
    if previous is None:
        return query
    if conversation:  # the topic of the conversation so far: "处理率呢？" then "还有几件在办？"
        earlier = [t for t, _ in (*previous.terms, *previous.context) if t not in query.text]
        query = replace(query, earlier=" ".join(dict.fromkeys(earlier)))
    if not query.towns and not query.unknown_towns and query.kind != "compare" and previous.kind != "compare":
        query = replace(query, towns=previous.towns, year=query.year or previous.year)
    if not query.terms:
        kind = previous.kind if query.kind in ("figure", "example") else query.kind
        if kind == "compare" and len(query.towns) == 1 or kind == "multi" and query.quantity:
            kind = "figure"  # "How many of them …?" after "How many letters …, and what share …?" asks one figure
        groups = query.groups or (() if previous.kind == "multi" and query.quantity else previous.groups)
        return replace(query, terms=previous.terms, verbs=previous.verbs, groups=groups,
                       kind=kind, most=previous.most, least=previous.least,
                       quantity=query.quantity or previous.quantity, inherited=True)
    if query.kind == "example" and _SAME_ASKED.search(query.text) and previous.kind in ("figure", "multi"):
        # "其中重点人员呢？" after "…有多少社区矫正对象": the same question, asked of another thing
        return replace(query, kind="figure", groups=query.groups or previous.groups, quantity=True,
                       context=previous.terms)
    context = dict(previous.context) | dict(previous.terms)  # a part: the whole's topic and its conversation's
    return replace(query, context=tuple(context.items()))


def split_parts(text: str) -> list[str]:
    """The questions inside one message: clauses that each ask for a figure (the others join the one before;
    "都是哪几类" asks for a breakdown, not another figure)."""
    asks = re.compile(r"多少|(?<!哪)几[个名人次场件起宗家份项条位户批天]?|哪天|什么时候|[完成办结处理]率|金额|人数|"
                      r"\b[Hh]ow (?:many|much|often|long)\b|\b[Ww]hat (?:share|percentage|proportion|rate|percent)\b")
    pieces: list[str] = []
    for clause in filter(None, (p.strip() for p in re.split(r"[？?；;。！!，,]", text))):
        listed = _EACH.match(clause)  # "民事、行政诉讼、行政复议各几起": one question per item listed
        if listed and "、" in listed.group(1):
            pieces += [item.strip() + listed.group(2) for item in listed.group(1).split("、") if item.strip()]
        else:
            pieces += clause.split("、")
    parts: list[str] = []
    for piece in filter(None, (p.strip() for p in pieces)):
        if parts and not asks.search(piece):
            parts[-1] += "，" + piece
        else:
            parts.append(piece)
    return parts if sum(bool(asks.search(p)) for p in parts) >= 2 else []


def understand(question: str, history: Sequence[str], known_towns: "Sequence[str] | TownIndex",
               tokenizer: Tokenizer, known: Callable[[str], bool] | None = None,
               english_read: EnglishRead | None = None) -> Query:
    """The question read in its conversation: each earlier question resolved in turn, oldest first
    (``known_towns``: a ``TownIndex`` built once per corpus, or the names; ``known``: whether the reports
    use a word; ``english_read``: how English words are mapped to the reports')."""
    if not isinstance(known_towns, TownIndex):
        known_towns = TownIndex(known_towns)

    def read(text: str, previous: Query | None, conversation: bool = True) -> Query:
        return follow(analyze(text, known_towns, tokenizer, known, _scoped(english_read, previous)), previous,
                      conversation)

    previous: Query | None = None
    for earlier in history:
        previous = read(earlier, previous)
    query = read(question, previous)
    if query.kind != "multi":
        return query
    parts: list[Query] = []
    for text in split_parts(normalize(question)):  # not query.text: an English one carries its Chinese terms
        part = read(text, parts[-1] if parts else query, False)
        # "…出动了多少人次，查了多少家餐馆": the later parts are searched with the first one's topic; every part
        # with the conversation's ("控烟专项出动了多少人" then "那处罚了几起，罚款多少")
        first = [t for t, w in parts[0].terms if w >= 1.0 and t not in text] if parts else []
        part = replace(part, earlier=" ".join(filter(None, (query.earlier, *first))))
        parts.append(replace(part, kind="figure", towns=part.towns or query.towns, year=part.year or query.year))
    return replace(query, parts=tuple(parts))


def _scoped(english_read: EnglishRead | None, previous: Query | None) -> EnglishRead | None:
    """A follow-up ("How many of them …?") maps its words within the previous question's towns and year, in
    passages found with the previous question too."""
    if english_read is None or previous is None:
        return english_read
    def read(text: str, towns: Sequence[str], year: int | None, names: Collection[str]) -> Reading:
        return english_read(text, towns or previous.towns, year or previous.year, names, previous.text)

    return read
