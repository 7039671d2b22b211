"""Question understanding: towns (however written), year, kind, topic, measure word, follow-ups."""

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from retrieval.answers.question.query import Query, understand
from retrieval.reports.documents import read_report
from retrieval.search.tokenize import Tokenizer
from seeds import seed_paths

GOLD = Path(__file__).resolve().parents[2] / "shared" / "eval" / "questions.jsonl"
TOWNS = sorted(read_report(path)[0].town for path in seed_paths())


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer(TOWNS)


def _ask(tokenizer: Tokenizer, question: str, history: Sequence[str] = ()) -> Query:
    return understand(question, history, TOWNS, tokenizer)


def _terms(query: Query) -> list[str]:
    return [term for term, _ in query.terms]


def test_seed_towns() -> None:
    assert TOWNS == ["中塘镇", "双塔镇", "太平镇", "官塘镇", "板溪镇"]


@pytest.mark.parametrize(("question", "towns", "unknown"), [
    pytest.param("太平镇有多少人民调解员？", ("太平镇",), (), id="full-name"),
    pytest.param("太平有多少人民调解员？", ("太平镇",), (), id="without-zhen"),
    pytest.param("板溪有几名网格员？", ("板溪镇",), (), id="without-zhen-banxi"),
    pytest.param("中糖镇有多少调解员？", ("中塘镇",), (), id="typo-zhongtang"),
    pytest.param("官糖镇化解了几宗纠纷？", ("官塘镇",), (), id="typo-guantang"),
    pytest.param("太平鎮有多少人民調解員", ("太平镇",), (), id="traditional"),
    pytest.param("How many mediators in Taiping town?", ("太平镇",), (), id="pinyin-english"),
    pytest.param("What about Zhongtang?", ("中塘镇",), (), id="pinyin-zhongtang"),
    pytest.param("红旗镇有多少人民调解员？", (), ("红旗镇",), id="unknown-town"),
    pytest.param("中塘镇和红旗镇谁的调解员多？", ("中塘镇",), ("红旗镇",), id="known-and-unknown"),
    pytest.param("红旗镇和白云乡哪个调解员多？", (), ("红旗镇", "白云乡"), id="two-unknown-towns"),
    pytest.param("中塘镇和太平镇安全生产罚款哪个多？", ("中塘镇", "太平镇"), (), id="two-towns-in-order"),
    pytest.param("太平镇和中塘镇安全生产罚款哪个多？", ("太平镇", "中塘镇"), (), id="two-towns-reversed"),
    pytest.param("哪个镇的调解员最多？", (), (), id="no-town"),
    pytest.param("疫情期间核查返乡人员有啥好办法？", (), (), id="words-ending-in-xiang-name-no-town"),
    pytest.param("律师送法下乡一年多少次？", (), (), id="song-fa-xia-xiang"),
])
def test_towns(tokenizer: Tokenizer, question: str, towns: tuple[str, ...], unknown: tuple[str, ...]) -> None:
    query = _ask(tokenizer, question)
    assert (query.towns, query.unknown_towns) == (towns, unknown)


def test_traditional_question_is_read_in_simplified(tokenizer: Tokenizer) -> None:
    query = _ask(tokenizer, "太平鎮有多少人民調解員")
    assert query.text == "太平镇有多少人民调解员"
    assert "人民调解员" in _terms(query)
    assert query.groups == ("person",)


def test_english_question(tokenizer: Tokenizer) -> None:
    query = _ask(tokenizer, "How many mediators in Taiping town?")
    assert (query.towns, query.english) == (("太平镇",), True)
    assert _ask(tokenizer, "太平镇有多少人民调解员？").english is False


@pytest.mark.parametrize(("question", "year"), [
    pytest.param("中塘镇2021年化解了多少矛盾纠纷？", 2021, id="year-nian"),
    pytest.param("双塔镇2022年度开展了多少次法治宣传？", 2022, id="year-niandu"),
    pytest.param("官塘镇２０２０年排查化解了几宗矛盾纠纷？", 2020, id="fullwidth-digits"),
    pytest.param("太平镇有多少人民调解员？", None, id="no-year"),
    pytest.param("中塘镇走访群众是不是超过2000人？", None, id="count-2000-is-not-a-year"),
    pytest.param("中塘镇投资超过2000万元的项目有几个？", None, id="amount-2000-wan-is-not-a-year"),
])
def test_year(tokenizer: Tokenizer, question: str, year: int | None) -> None:
    assert _ask(tokenizer, question).year == year


def _gold_kind(gold: dict) -> str:
    if gold["kind"] == "none":
        return "figure"  # the question asks for a figure; that none exists is for the answer to find
    if gold["kind"] == "followup":
        return "figure" if len(gold["figures"]) == 1 else "multi"
    return str(gold["kind"])


GOLD_ROWS = [json.loads(line) for line in GOLD.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.mark.parametrize("gold", [pytest.param(g, id=g["id"]) for g in GOLD_ROWS])
def test_kind_and_town_of_gold_questions(tokenizer: Tokenizer, gold: dict) -> None:
    query = _ask(tokenizer, gold["question"], gold.get("context") or ())
    expected = _gold_kind(gold)
    # Two quantity words in one ask ("罚款总额是多少", "完成率是多少") read as multi; with no parts to split
    # it is still answered as one figure.
    assert query.kind == expected or (expected == "figure" and query.kind == "multi" and not query.parts)
    asked = gold["question"] + "".join(gold.get("context") or ())
    if gold["town"] and gold["town"][:-1] in asked:
        assert query.towns == (gold["town"],)


@pytest.mark.parametrize(("question", "kind", "most", "quantity"), [
    pytest.param("太平镇有多少人民调解员？", "figure", False, True, id="figure"),
    pytest.param("中塘镇有多少家企业？都是哪几类？", "multi", False, True, id="multi-breakdown"),
    pytest.param("中塘镇2021年安全生产执法检查出动多少人次、查了多少企业、发现多少隐患？", "multi", False, True,
                 id="multi-several-quantities"),
    pytest.param("给我讲一个板溪镇基层自治的做法", "example", False, False, id="example-practice"),
    pytest.param("有没有用广播电台做调解的例子？", "example", False, False, id="example-case"),
    pytest.param("哪个镇的调解员最多？", "compare", True, True, id="compare-most"),
    pytest.param("各镇化解矛盾纠纷的数量分别是多少？", "compare", False, True, id="compare-each"),
    pytest.param("中塘镇和太平镇安全生产罚款哪个多？", "compare", True, True, id="compare-two-towns"),
    pytest.param("哪些镇有村评上了民主法治示范村？", "compare", False, False, id="compare-without-figure"),
    pytest.param("哪几个镇开展了法治进校园？", "compare", False, False, id="which-towns-is-no-count"),
    pytest.param("几个镇开展了法治进校园？", "compare", False, True, id="how-many-towns-is-a-count"),
    pytest.param("哪些镇建了调解室？有数量的也列一下", "compare", False, False, id="compare-figure-only-aside"),
    pytest.param("红旗镇怎么搞普法的？如果有场次就说一下", "example", False, False, id="example-figure-only-aside"),
    pytest.param("哪些镇建了调解室？各建了多少个", "compare", False, True, id="compare-then-asks-a-count"),
    pytest.param("有多少个调解室？有的话说一下", "figure", False, True, id="count-asked-before-the-aside"),
    pytest.param("Which held more legal lectures, Taiping or Zhongtang?", "compare", True, True, id="english-more"),
    pytest.param("Which town had the fewest disputes?", "compare", True, True, id="english-fewest"),
    pytest.param("Tell me more about mediation in Taiping", "example", False, False, id="english-more-is-no-count"),
])
def test_kind(tokenizer: Tokenizer, question: str, kind: str, most: bool, quantity: bool) -> None:
    query = _ask(tokenizer, question)
    assert (query.kind, query.most, query.quantity) == (kind, most, quantity)


@pytest.mark.parametrize(("question", "groups"), [
    pytest.param("中塘镇一共开展了多少场法治宣传活动？", ("times",), id="duoshao-chang"),
    pytest.param("双塔镇开展了多少次大型法治宣传活动？", ("times",), id="duoshao-ci"),
    pytest.param("官塘镇2020年排查化解了几宗矛盾纠纷？", ("case",), id="ji-zong"),
    pytest.param("板溪镇调解了多少起矛盾纠纷？", ("case",), id="duoshao-qi"),
    pytest.param("中塘镇派了几个人去参加执法培训？", ("person",), id="ji-ge-ren-are-people"),
    pytest.param("中塘镇有多少个人民调解委员会？", ("generic", "person", "org", "item", "household", "level", "case"),
                 id="ge-renmin-is-no-person"),
    pytest.param("太平镇安全生产行政处罚罚了多少钱？", ("money",), id="duoshao-qian"),
    pytest.param("中塘镇的园区改革动员大会是哪天召开的？", ("date",), id="na-tian"),
    pytest.param("太平镇值班律师接待来访群众多少人次？", ("person_times",), id="duoshao-renci"),
    pytest.param("板溪镇调整充实了多少名社区网格员？", ("person",), id="duoshao-ming"),
    pytest.param("中塘镇编印了多少份民法典宣传资料？", ("item", "generic", "case"), id="duoshao-fen"),
    pytest.param("红旗镇成立了几支巡逻队？", ("org", "generic"), id="ji-zhi-also-ge"),
    pytest.param("东风街道审核了几份合同？", ("item", "generic", "case"), id="ji-fen-also-jian"),
    pytest.param("红旗镇信访接待了几批？", ("visit", "times"), id="ji-pi-also-pici"),
    pytest.param("那几起征地纠纷一共涉及多少户？", ("household",), id="na-ji-points-duoshao-asks"),
    pytest.param("这几场培训来了多少名干部？", ("person",), id="zhe-ji-points"),
    pytest.param("东风街道引进了多少项目？", (), id="xiangmu-is-a-noun"),
    pytest.param("共有几个问题线索？", ("generic", "person", "org", "item", "household", "level", "case"),
                 id="ji-ge-may-be-jian"),
    pytest.param("中塘镇“我为群众办实事”项目清单完成率是多少？", ("percent",), id="rate"),
    pytest.param("处罚了几家企业？", ("org", "generic"), id="ji-jia"),
    pytest.param("板溪镇组建了几个志愿服务团队？", ("generic", "person", "org", "item", "household", "level", "case"),
                 id="ji-ge-teams-countable"),
    pytest.param("板溪镇注册志愿者有多少人？", ("person", "person_times"), id="duoshao-ren"),
    pytest.param("太平镇有多少人民调解员？", ("person",), id="noun-mediators"),
    pytest.param("中塘镇2021年化解了多少矛盾纠纷？", ("case",), id="noun-disputes"),
    pytest.param("太平镇有多少个人民调解员？", ("person",), id="duoshao-ge-mediators"),
    pytest.param("中塘镇有几个调解员？", ("person",), id="ji-ge-mediators"),
    pytest.param("各镇的网格员有多少？", ("person",), id="noun-grid-workers-not-visits"),
    pytest.param("太平镇法律咨询的人数有多少？", ("person", "person_times"), id="renshu"),
    pytest.param("两个镇的安全生产罚款哪个多？", ("money",), id="noun-fines-are-money"),
    pytest.param("专项经费有多少？", ("money",), id="noun-funds-are-money"),
    pytest.param("河道整治种了多少株树？", ("uncounted",), id="plants-are-not-in-the-ledger"),
    pytest.param("一共有几个职能科室？", ("org", "visit", "generic"), id="offices-are-organisations"),
])
def test_measure_word_groups(tokenizer: Tokenizer, question: str, groups: tuple[str, ...]) -> None:
    assert _ask(tokenizer, question).groups == groups


@pytest.mark.parametrize(("question", "terms"), [
    pytest.param("太平有多少人民调解员？", ["人民调解员"], id="town-stem-is-not-a-term"),
    pytest.param("中塘镇2021年化解了多少矛盾纠纷？", ["化解", "矛盾纠纷"], id="year-is-not-a-term"),
    pytest.param("中塘镇2021年度化解了多少矛盾纠纷？", ["化解", "矛盾纠纷"], id="niandu-is-not-a-term"),
    pytest.param("中塘镇的园区改革动员大会是哪天召开的？", ["园区", "改革", "动员大会", "召开"], id="date-question"),
    pytest.param("那双塔镇呢？", [], id="bare-follow-up"),
    pytest.param("镇里头有多少网格员", ["网格员"], id="locative-word-is-no-topic"),
    pytest.param("官塘镇怎么防着乱收费？", ["防", "乱收费"], id="particle-is-no-topic"),
    pytest.param("疫情期间核查返乡人员有啥好办法？", ["疫情", "核查", "返乡", "人员"], id="what-a-practice-is-called"),
    pytest.param("中塘镇出台了几项措施", ["出台", "措施"], id="a-counted-measure-stays-a-topic"),
    pytest.param("太平有多少人民调解员？", ["人民调解员"], id="town-stem-alone"),
    pytest.param("太平、中塘两个镇各有多少人民调解员？", ["人民调解员"], id="how-many-towns-is-no-topic"),
    pytest.param("中塘的网格员全都培训过了吗", ["网格员", "培训"], id="quandou-is-no-topic"),
])
def test_topic_terms(tokenizer: Tokenizer, question: str, terms: list[str]) -> None:
    assert _terms(_ask(tokenizer, question)) == terms


@pytest.mark.parametrize(("history", "question", "towns", "year", "kind", "terms", "groups", "context"), [
    pytest.param(["中塘镇2021年化解了多少矛盾纠纷？"], "那双塔镇呢？", ("双塔镇",), None, "figure",
                 ["化解", "矛盾纠纷"], ("case",), [], id="other-town-same-topic"),
    pytest.param(["太平镇安全生产行政处罚罚了多少钱？"], "处罚了几家？", ("太平镇",), None, "figure",
                 ["处罚"], ("org", "generic"), ["安全生产", "行政处罚", "罚"], id="same-town-new-measure"),
    pytest.param(["板溪镇注册志愿者有多少人？"], "组建了几个志愿服务团队？", ("板溪镇",), None, "figure",
                 ["组建", "志愿服务", "团队"], ("generic", "person", "org", "item", "household", "level", "case"), ["注册", "志愿者"],
                 id="same-town-new-topic"),
    pytest.param(["中塘镇2021年化解了多少矛盾纠纷？"], "那2022年呢？", ("中塘镇",), 2022, "figure",
                 ["化解", "矛盾纠纷"], ("case",), [], id="other-year"),
    pytest.param(["中塘镇2021年化解了多少矛盾纠纷？"], "有多少人民调解员？", ("中塘镇",), 2021, "figure",
                 ["人民调解员"], ("person",), ["化解", "矛盾纠纷"], id="keeps-town-and-year"),
    pytest.param(["中塘镇2021年化解了多少矛盾纠纷？", "那双塔镇呢？"], "那官塘镇呢？", ("官塘镇",), None, "figure",
                 ["化解", "矛盾纠纷"], ("case",), [], id="two-steps"),
    pytest.param(["哪个镇的调解员最多？"], "板溪镇呢？", ("板溪镇",), None, "figure",
                 ["调解员"], ("person",), [], id="after-compare-one-town"),
    pytest.param(["中塘镇2021年化解了多少矛盾纠纷？"], "太平镇有多少人民调解员？", ("太平镇",), None, "figure",
                 ["人民调解员"], ("person",), ["化解", "矛盾纠纷"], id="complete-question"),
    pytest.param(["太平镇调解了多少件矛盾纠纷，涉及多少群众？"], "一共有几个？", ("太平镇",), None, "figure",
                 ["调解", "矛盾纠纷", "涉及", "群众"], ("generic", "person", "org", "item", "household", "level", "case"), [],
                 id="own-figure-after-several"),
])
def test_follow_up(tokenizer: Tokenizer, history: list[str], question: str, towns: tuple[str, ...],
                   year: int | None, kind: str, terms: list[str], groups: tuple[str, ...], context: list[str]) -> None:
    query = _ask(tokenizer, question, history)
    assert (query.towns, query.year, query.kind, _terms(query), query.groups) == (towns, year, kind, terms, groups)
    assert [term for term, _ in query.context] == context


def test_follow_up_with_unknown_town_does_not_inherit_the_previous_town(tokenizer: Tokenizer) -> None:
    query = _ask(tokenizer, "红旗镇呢？", ["太平镇有多少人民调解员？"])
    assert (query.towns, query.unknown_towns) == ((), ("红旗镇",))
    assert _terms(query) == ["人民调解员"]


def test_question_alone_ignores_an_empty_history(tokenizer: Tokenizer) -> None:
    assert _ask(tokenizer, "处罚了几家？").towns == ()


@pytest.mark.parametrize(("text", "parts"), [
    pytest.param("板溪镇接访下访了多少次？化解信访积案多少件？",
                 ["板溪镇接访下访了多少次", "化解信访积案多少件"], id="two"),
    pytest.param("出动多少人次、查了多少企业、发现多少隐患",
                 ["出动多少人次", "查了多少企业", "发现多少隐患"], id="three"),
    pytest.param("中塘镇有多少家企业？都是哪几类？", [], id="breakdown-is-one-question"),
    pytest.param("太平镇有多少人民调解员？", [], id="single"),
    pytest.param("全街道涉诉案件共多少起？民事、行政诉讼、行政复议各几起",
                 ["全街道涉诉案件共多少起", "民事几起", "行政诉讼几起", "行政复议几起"], id="items-listed-each"),
    pytest.param("社区戒毒、社区康复的各有多少人", ["社区戒毒多少人", "社区康复的多少人"], id="each-alone"),
    pytest.param("How many cases came in, and what percentage were closed?",
                 ["How many cases came in", "and what percentage were closed"], id="english-what-percentage"),
])
def test_split_parts(text: str, parts: list[str]) -> None:
    from retrieval.answers.question.query import split_parts

    assert split_parts(text) == parts


@pytest.mark.parametrize(("question", "excluded", "terms"), [
    pytest.param("除了主要领导，板溪镇其他干部接访下访多少次？", ("主要", "领导"), ["干部", "接访", "下访"],
                 id="chule"),
    pytest.param("太平镇不算绿化那块，罚款多少钱？", ("绿化",), ["罚款"], id="busuan-nakuai"),
    pytest.param("太平镇有多少人民调解员？", (), ["人民调解员"], id="nothing-excluded"),
])
def test_excluded(tokenizer: Tokenizer, question: str, excluded: tuple[str, ...], terms: list[str]) -> None:
    query = _ask(tokenizer, question)
    assert query.excluded == excluded and _terms(query) == terms


@pytest.mark.parametrize(("question", "within"), [
    pytest.param("中塘镇注册志愿者里党员有多少？", (("注册", "志愿者"), ("党员",)), id="li"),
    pytest.param("被处罚的企业中危化企业有几家？", (("处罚", "企业"), ("危化企业",)), id="zhong"),
    pytest.param("太平镇有多少人民调解员？", ((), ()), id="no-part"),
])
def test_part_of_whole(tokenizer: Tokenizer, question: str, within: tuple) -> None:
    assert _ask(tokenizer, question).within == within


@pytest.mark.parametrize(("question", "within"), [
    pytest.param("红旗镇理论学习中心组专题学习几次？", ((), ()), id="zhong-of-zhongxinzu"),
    pytest.param("红旗镇矛调中心处理率是多少？", ((), ()), id="zhong-inside-a-word"),
    pytest.param("红旗镇执法中队派了几个人？", ((), ()), id="zhong-of-zhongdui"),
    pytest.param("红旗镇注册志愿者里党员有多少？", (("注册", "志愿者"), ("党员",)), id="li-after-the-town"),
    pytest.param("红旗镇学习中心组里有几个人？", (("学习", "中心组"), ()), id="li-after-a-word-with-zhong"),
])
def test_part_of_whole_is_asked_by_a_word_of_its_own(tokenizer: Tokenizer, question: str, within: tuple) -> None:
    """中 / 里 inside a word the reports use (中心组, 矛调中心, 中队) asks for no part of a whole."""
    known = {"中心组", "矛调中心", "中队", "志愿者", "党员"}.__contains__
    assert understand(question, (), [*TOWNS, "红旗镇"], tokenizer, known).within == within


@pytest.mark.parametrize(("question", "places"), [
    pytest.param("红溪村有多少网格员？", ("红溪村",), id="village"),
    pytest.param("大道口社区有几名调解员？", ("大道口社区",), id="community"),
    pytest.param("各村有多少村民代表？", (), id="ge-cun-is-no-place"),
])
def test_places(tokenizer: Tokenizer, question: str, places: tuple[str, ...]) -> None:
    assert _ask(tokenizer, question).places == places


@pytest.mark.parametrize(("question", "counted", "bare"), [
    pytest.param("中塘镇底下一共几个村？", "村", True, id="locative-is-no-topic"),
    pytest.param("太平镇有几个村？", "村", True, id="bare-total"),
    pytest.param("太平镇有多少人民调解员？", "人民调解员", False, id="duoshao-noun"),
    pytest.param("中塘镇注册志愿者里党员有多少？", "", False, id="no-noun-after"),
])
def test_counted_noun(tokenizer: Tokenizer, question: str, counted: str, bare: bool) -> None:
    query = _ask(tokenizer, question)
    assert (query.counted, query.bare) == (counted, bare)


REPORT_WORDS = {"安置", "培训", "法律明白人", "人民调解员"}


@pytest.mark.parametrize(("question", "terms", "groups", "counted"), [
    pytest.param("官塘镇安置了多少套房？", ["安置"], ("item", "generic", "case"), "", id="taofang"),
    pytest.param("太平镇培训了多少名村法律明白人", ["培训", "法律明白人"], ("person",), "", id="ming-cun"),
    pytest.param("太平镇有多少人民调解员？", ["人民调解员"], ("person",), "人民调解员",
                 id="renmin-stays"),
])
def test_measure_word_glued_to_noun(tokenizer: Tokenizer, question: str, terms: list[str],
                                    groups: tuple[str, ...], counted: str) -> None:
    query = understand(question, (), TOWNS, tokenizer, known=REPORT_WORDS.__contains__)
    assert (_terms(query), query.groups, query.counted) == (terms, groups, counted)


@pytest.mark.parametrize(("question", "towns", "kind", "groups"), [
    pytest.param("How many mediators in Taiping town?", ("太平镇",), "figure", ("person",), id="how-many"),
    pytest.param("How much did Taiping fine for work safety?", ("太平镇",), "figure", ("money",), id="how-much"),
    pytest.param("When did Zhongtang hold the training?", ("中塘镇",), "figure", ("date",), id="when"),
    pytest.param("How often does Banxi hold meetings?", ("板溪镇",), "figure", ("frequency",), id="how-often"),
    pytest.param("How long did the campaign last in Zhongtang?", ("中塘镇",), "figure", ("duration",),
                 id="how-long"),
    pytest.param("Which towns compare on mediators?", (), "compare", ("person",), id="compare"),
])
def test_english_kinds_and_groups(tokenizer: Tokenizer, question: str, towns: tuple[str, ...], kind: str,
                                  groups: tuple[str, ...]) -> None:
    """English questions are read, not refused: town by pinyin, kind and measure word by English words."""
    query = _ask(tokenizer, question)
    assert (query.towns, query.kind, query.groups, query.english) == (towns, kind, groups, True)
    assert query.quantity is (kind == "figure")


@pytest.mark.parametrize(("question", "groups"), [
    pytest.param("太平镇啥时候开的会？", ("date",), id="shashihou"),
    pytest.param("中塘镇动员大会是几月开的？", ("date",), id="jiyue"),
    pytest.param("官塘镇多久开一次会？", ("frequency",), id="duojiu-yici"),
    pytest.param("红旗镇的例会多长时间开一回？", ("frequency",), id="duochang-shijian-yihui"),
    pytest.param("东风街道隔几天巡查一次？", ("frequency",), id="ge-jitian-yici"),
    pytest.param("中塘镇专项整治持续了多长时间？", ("duration",), id="duochang-shijian"),
])
def test_date_duration_frequency_questions(tokenizer: Tokenizer, question: str, groups: tuple[str, ...]) -> None:
    query = _ask(tokenizer, question)
    assert (query.kind, query.quantity, query.groups) == ("figure", True, groups)


@pytest.mark.parametrize(("question", "reports_use", "terms"), [
    pytest.param("中塘镇瞪羚的呢？", {"瞪羚"}, ["瞪羚"], id="rejoined"),
    pytest.param("中塘镇下一步打算", {"下一步", "打算"}, ["下一步", "打算"], id="lone-character-joined"),
    pytest.param("太平镇法治讲师", {"法治讲师", "法治", "讲师"}, ["法治", "讲师"], id="two-words-the-reports-use-stay"),
    pytest.param("板溪镇有多少个村", {"个村", "村"}, ["村"], id="never-a-measure-word"),
])
def test_words_cut_apart_are_joined_as_the_reports_use_them(tokenizer: Tokenizer, question: str,
                                                           reports_use: set[str], terms: list[str]) -> None:
    query = understand(question, (), TOWNS, tokenizer, reports_use.__contains__)
    assert _terms(query) == terms


def test_counted_noun_mid_sentence(tokenizer: Tokenizer) -> None:
    assert _ask(tokenizer, "中塘镇下一步给几个村派驻法治讲师").counted == "村"


@pytest.mark.parametrize(("question", "counted", "groups"), [
    pytest.param("官塘镇给多少重度残疾人办了合作医疗", "重度残疾人", ("person",), id="people-counted-not-money"),
    pytest.param("中塘镇处罚了多少家企业", "企业", ("org", "generic"), id="a-measure-word-is-not-the-noun"),
])
def test_what_is_counted_sets_the_measure_word(tokenizer: Tokenizer, question: str, counted: str,
                                               groups: tuple[str, ...]) -> None:
    query = _ask(tokenizer, question)
    assert (query.counted, query.groups) == (counted, groups)


@pytest.mark.parametrize(("question", "groups"), [
    pytest.param("中塘镇停车场那块地有多大", ("area",), id="how-big-is-an-area"),
    pytest.param("官塘镇违建整治搞了多长时间", ("duration",), id="how-long-is-a-duration"),
])
def test_size_and_length_questions_ask_for_a_figure(tokenizer: Tokenizer, question: str,
                                                     groups: tuple[str, ...]) -> None:
    query = _ask(tokenizer, question)
    assert query.quantity and query.kind == "figure" and query.groups == groups
    assert not any(term.startswith("多") for term in _terms(query)), "多大/多长时间 ask; they are no topic"


def test_town_name_cut_short_leaves_no_piece_of_it(tokenizer: Tokenizer) -> None:
    towns = [*TOWNS, "杭州道街道"]
    query = understand("杭州道街垃圾管理执法出动了多少人次", (), towns, Tokenizer(towns))
    assert query.towns == ("杭州道街道",) and "街" not in _terms(query)


def test_later_parts_are_searched_with_the_first_parts_topic(tokenizer: Tokenizer) -> None:
    query = _ask(tokenizer, "中塘镇安全生产检查了多少家企业，罚款多少钱？")
    first, second = query.parts
    assert first.search == first.text
    assert "安全生产" in second.search and "安全生产" not in second.text


def test_parts_of_a_follow_up_keep_the_conversations_topic(tokenizer: Tokenizer) -> None:
    """"红旗镇控烟专项出动了多少人" then "那处罚了几起，罚款多少": each part is about 控烟专项 too."""
    query = _ask(tokenizer, "那处罚了几起，罚款多少？", ["中塘镇控烟专项行动出动了多少执法队员？"])
    assert len(query.parts) == 2
    for part in query.parts:
        assert part.towns == ("中塘镇",)
        assert "控烟" in part.search and "控烟" in dict(part.context)


def test_follow_up_is_searched_with_the_topic_before(tokenizer: Tokenizer) -> None:
    query = _ask(tokenizer, "其中重点人员呢？", ["中塘镇社区矫正对象有多少人"])
    assert query.kind == "figure" and query.towns == ("中塘镇",)
    assert "社区矫正" in query.search and "重点人员" in query.text


def test_everyday_words_the_reports_never_use_are_searched_by_the_reports_words(tokenizer: Tokenizer) -> None:
    known = {"群众", "普法", "活动", "受益"}.__contains__
    query = understand("中塘普法活动受益的老百姓有多少人次", (), TOWNS, tokenizer, known)
    assert "群众" in query.search and "群众" not in query.text
    assert understand("中塘普法活动受益的群众有多少人次", (), TOWNS, tokenizer, known).search.split()[1:] == []


def test_a_word_of_the_reports_is_not_cut_to_join_a_lone_character(tokenizer: Tokenizer) -> None:
    """"和行政处罚": "和行" may be a token of the reports, but joining it would cut 行政处罚 in two."""
    known = {"和行", "行政处罚", "还迁"}.__contains__
    query = understand("中塘镇和太平镇行政处罚各多少？", (), TOWNS, tokenizer, known)
    assert [t for t, _ in query.terms] == ["行政处罚"]


@pytest.mark.parametrize(("text", "names"), [
    pytest.param("有多少名执法人员没考过执法证", ("negated",), id="not-passed"),
    pytest.param("还有几件没办结？", ("negated",), id="not-done"),
    pytest.param("有没有镇搞村务公开的做法", (), id="you-mei-you-is-no-negation"),
    pytest.param("每个网格平均配几个网格员", ("average",), id="average"),
    pytest.param("明年打算搞多少次执法检查", ("planned",), id="plan"),
    pytest.param("太平镇有多少人民调解员？", (), id="plain"),
    pytest.param("其他干部接访下访了多少次", ("others",), id="the-others"),
    pytest.param("那其他镇呢？", (), id="other-towns-are-a-follow-up"),
    pytest.param("今年新增刑满释放人员多少", ("added",), id="added"),
])
def test_qualifiers_asked(text: str, names: tuple[str, ...]) -> None:
    from retrieval.answers.question.qualifiers import asked

    assert asked(text) == names


def test_qualifiers_carried() -> None:
    from retrieval.answers.question.qualifiers import carried

    sentence = "网格员信访代办事项共受理119件，除3件待审核通过外均已及时办理"
    assert carried(("negated",), "除3件待审核通过外均已及时办理", sentence)
    assert not carried(("negated",), "网格员信访代办事项共受理119件", sentence)  # all of them, not those left
    assert carried(("planned",), "对2-3个村派驻法治讲师", "对2-3个村派驻法治讲师 下一步工作打算")
    assert not carried(("planned",), "开展执法检查220余次", "开展执法检查220余次")
    assert carried((), "任何句子", "")


@pytest.mark.parametrize(("question", "cue"), [
    pytest.param("太平镇的法律顾问是谁？", True, id="shi-shui"),
    pytest.param("官塘镇哪家律所当法律顾问", True, id="which-firm"),
    pytest.param("Who are Taiping's legal advisers?", True, id="english-who"),
    pytest.param("官塘镇为什么要开展扫黑除恶", True, id="why"),
    pytest.param("太平镇 法律顾问", False, id="keywords"),
    pytest.param("中塘镇和太平镇安全生产罚款谁多？", False, id="who-has-more-is-a-comparison"),
])
def test_a_name_asked_is_no_keyword_question(tokenizer: Tokenizer, question: str, cue: bool) -> None:
    assert _ask(tokenizer, question).cue is cue


@pytest.mark.parametrize("question", ["清河市场监管局罚没款一共多少钱", "清河县市场监管局罚没款一共多少钱",
                                      "市场监督管理局罚没款一共多少钱"])
def test_a_shortened_department_name_is_the_unit_not_the_topic(tokenizer: Tokenizer, question: str) -> None:
    units = [*TOWNS, "清河县市场监督管理局", "清河县"]
    query = understand(question, (), units, tokenizer)
    assert query.towns == ("清河县市场监督管理局",)
    assert [t for t, _ in query.terms] == ["罚没款"]


@pytest.mark.parametrize("question", ["太平镇政府开了几次常务会", "太平镇人民政府开了几次常务会", "太平政府开了几次常务会"])
def test_the_units_institution_after_its_name_is_not_the_topic(tokenizer: Tokenizer, question: str) -> None:
    query = understand(question, (), TOWNS, tokenizer)
    assert query.towns == ("太平镇",)
    assert [t for t, _ in query.terms] == [t for t, _ in understand("太平镇开了几次常务会", (), TOWNS, tokenizer).terms]


@pytest.mark.parametrize(("question", "word"), [("太平镇办理了几件复议", "办理"), ("太平镇党委中心组学了几次法", "党委"),
                                              ("太平办实事项目有几个", "办实事")])
def test_a_word_after_the_units_name_that_is_no_institution_stays(tokenizer: Tokenizer, question: str,
                                                                   word: str) -> None:
    assert word in dict(understand(question, (), TOWNS, tokenizer).terms)


@pytest.mark.parametrize(("question", "most", "least"), [
    ("哪个县司法局办的复议案件多", True, False),
    ("哪个镇的网格员配得少一些", True, True),
    ("哪个区的调解成功率高", True, False),
    ("哪个镇有多少网格员", False, False),
])
def test_which_one_has_more_is_asked_at_the_end(question: str, most: bool, least: bool) -> None:
    from retrieval.answers.question.kinds import LEAST, MOST

    assert (bool(MOST.search(question)), bool(LEAST.search(question))) == (most, least)


@pytest.mark.parametrize("question", ["太平镇调解员有多少，说一下", "给我列一下太平镇调解员有多少", "太平镇调解员有多少，告诉我"])
def test_the_asking_is_not_the_topic(tokenizer: Tokenizer, question: str) -> None:
    assert [t for t, _ in understand(question, (), TOWNS, tokenizer).terms] == ["调解员"]


def test_a_word_that_begins_like_the_asking_stays(tokenizer: Tokenizer) -> None:
    terms = dict(understand("太平镇检查下属单位多少家", (), TOWNS, tokenizer).terms)
    assert "检查" in terms and any(t.startswith("下属") for t in terms)


@pytest.mark.parametrize("question", ["我镇调解员有多少", "本镇调解员有多少", "咱们镇调解员有多少", "我局调解员有多少"])
def test_the_askers_own_unit_is_not_the_topic(tokenizer: Tokenizer, question: str) -> None:
    assert [t for t, _ in understand(question, (), TOWNS, tokenizer).terms] == ["调解员"]
