"""Town lookup by index (automaton, masked names, pinyin) against the plain linear scan it replaces."""

import itertools
import re

import pytest

from retrieval.answers.question.query import normalize
from retrieval.answers.question.towns import TownIndex, abbreviations, find_towns, pinyin, sounds_alike, stem
from retrieval.reports.documents import towns_in
from retrieval.tools.scale import town_names

SEEDS = ["中塘镇", "双塔镇", "太平镇", "官塘镇", "板溪镇"]
KNOWN = sorted([*SEEDS, *itertools.islice(town_names(set(SEEDS)), 3000), "城关街道", "太平"])


def linear(text: str, known: list[str]) -> tuple[list[str], list[str]]:
    """The reference: every known town compared with the text, one by one."""
    found = [t for t in known if t in text or (len(stem(t)) >= 2 and stem(t) in text)]
    unknown = []
    for name in towns_in(text):
        if any(name.endswith(t) or t.endswith(name) for t in found):
            continue
        close = [t for t in known if len(t) == len(name) and sounds_alike(name, t)]
        (found if close else unknown).extend(close or [name])
    letters = re.sub(r"[^a-z]", "", text.lower())
    if letters:
        found += [t for t in known if t not in found and pinyin(stem(t)) in letters]
    return sorted(set(found), key=text.find), unknown


QUESTIONS = [
    "太平镇有多少人民调解员？", "太平有多少人民调解员？", "中糖镇有多少调解员？", "太平鎮有多少人民調解員",
    "How many mediators in Taiping town?", "红旗镇和白云乡哪个调解员多？", "哪个镇的调解员最多？",
    f"{KNOWN[10]}和{KNOWN[2000]}的人民调解员分别有多少？", f"{KNOWN[700][:-1]}化解了多少矛盾纠纷？",
    f"{'糖' + KNOWN[1500][1:]}开展了多少场普法宣传活动？", f"What about {pinyin(stem(KNOWN[42])).title()}?",
    "城关街道有几个社区？", "城关有几个社区？", "2023年全县各镇罚款多少？",
]


@pytest.fixture(scope="module")
def index() -> TownIndex:
    return TownIndex(KNOWN)


@pytest.mark.parametrize("question", QUESTIONS)
def test_same_towns_as_the_linear_scan(index: TownIndex, question: str) -> None:
    text = normalize(question)
    found, unknown = find_towns(text, index)
    expected_found, expected_unknown = linear(text, KNOWN)
    assert (sorted(found), unknown) == (sorted(expected_found), expected_unknown)
    assert [text.find(t) for t in found] == [text.find(t) for t in expected_found]


def test_a_wrong_character_that_reads_the_same_finds_the_town(index: TownIndex) -> None:
    assert index.one_off("中糖镇") == ["中塘镇"]
    assert index.one_off("太平镇") == [t for t in KNOWN if len(t) == 3 and t != "太平镇" and sounds_alike("太平镇", t)]
    assert TownIndex(["关坝镇"]).one_off("东坝镇") == [], "another character is another town, not a slip"


def test_an_ethnic_township_is_found_by_its_short_name() -> None:
    index = TownIndex(["罗子山瑶族乡", "太平镇"])
    for text in ("罗子山瑶族乡有几个村", "罗子山乡有几个村", "萝子山乡有几个村", "How many villages in Luozishan?"):
        assert find_towns(text, index) == (["罗子山瑶族乡"], []), text


def test_written_towns_come_in_the_order_given() -> None:
    index = TownIndex(["太平镇", "中塘镇", "太平"])
    assert index.written_in("中塘镇和太平镇") == ["太平镇", "中塘镇", "太平"]
    assert TownIndex([]).written_in("太平镇") == []
    assert TownIndex([]).sounded_in("taiping") == []


def test_pinyin_of_stems() -> None:
    index = TownIndex(SEEDS)
    assert index.sounded_in("whataboutzhongtang") == ["中塘镇"]
    assert index.sounded_in("nothinghere") == []


@pytest.mark.parametrize(("question", "unit"), [
    pytest.param("清河县市场监管局立案多少件", "清河县市场监督管理局", id="body-shortened"),
    pytest.param("清河市场监管局立案多少件", "清河县市场监督管理局", id="region-and-body-shortened"),
    pytest.param("市场监督管理局立案多少件", "清河县市场监督管理局", id="body-without-region"),
    pytest.param("人社局组织了几场培训", "清河县人力资源和社会保障局", id="characters-in-order"),
    pytest.param("清河卫健委发了多少份文件", "清河县卫生健康委员会", id="committee-as-wei"),
    pytest.param("综合执法局罚了多少钱", "清河县城市管理综合行政执法局", id="five-from-a-word-inside"),
    pytest.param("城管局罚了多少钱", "清河县城市管理综合行政执法局", id="first-characters"),
    pytest.param("清河县一共办了多少件", "清河县", id="the-region-itself"),
    pytest.param("清河一共办了多少件", "清河县", id="region-without-suffix"),
])
def test_a_unit_is_found_by_the_names_people_write(question: str, unit: str) -> None:
    units = ["清河县市场监督管理局", "清河县人力资源和社会保障局", "清河县卫生健康委员会", "清河县城市管理综合行政执法局",
             "清河县", "太平镇"]
    assert find_towns(question, TownIndex(units))[0] == [unit]


@pytest.mark.parametrize("question", ["监管局立案多少件", "市局立案多少件", "管理局立案多少件", "太平镇立案多少件",
                                      "督管理局立案多少件"])
def test_a_run_that_does_not_begin_as_the_body_names_no_department(question: str) -> None:
    assert abbreviations(question, "清河县市场监督管理局") == []


def test_a_county_named_is_its_departments_when_no_report_is_the_countys() -> None:
    assert find_towns("清河县有几个调解组织", TownIndex(["清河县司法局", "太平镇"]))[0] == ["清河县司法局"]
    assert find_towns("清河有几个调解组织", TownIndex(["清河县司法局", "太平镇"]))[0] == ["清河县司法局"]
    assert find_towns("清河县有几个调解组织", TownIndex(["清河县司法局", "清河县"]))[0] == ["清河县"]
    assert find_towns("清河县司法局有几个调解组织", TownIndex(["清河县司法局", "清河县"]))[0] == ["清河县司法局"]


@pytest.mark.parametrize(("question", "found", "unknown"), [
    pytest.param("清河县城关镇有几个调解组织", [], ["城关镇"], id="a-town-of-the-county"),
    pytest.param("城南区东风街道有几个调解组织", [], ["东风街道"], id="a-street-of-the-district"),
    pytest.param("城南区太平镇有几个调解组织", ["太平镇"], [], id="a-known-town-of-the-district"),
    pytest.param("泾阳县市场监管局立案多少件", [], ["泾阳县市场监管局"], id="another-countys-department"),
    pytest.param("全县市场监管局立案多少件", ["清河县市场监督管理局"], [], id="all-the-county-is-no-name"),
])
def test_a_unit_written_inside_another_name_is_not_asked_of(question: str, found: list[str],
                                                             unknown: list[str]) -> None:
    index = TownIndex(["清河县司法局", "清河县市场监督管理局", "城南区", "太平镇"])
    assert find_towns(question, index) == (found, unknown)


def test_a_town_is_asked_of_whatever_follows_it() -> None:
    assert find_towns("太平镇给镇干部办了几场培训", TownIndex(["太平镇"]))[0] == ["太平镇"]


@pytest.mark.parametrize(("question", "found"), [
    ("兰考司法局调解员多少名", ["兰考县司法局"]),
    ("兰考县司法局调解员多少名", ["兰考县司法局"]),
    ("司法局调解员多少名", ["兰考县司法局", "清河县司法局"]),
    ("哪个县司法局调解员多", ["兰考县司法局", "清河县司法局"]),
])
def test_one_countys_department_among_several(question: str, found: list[str]) -> None:
    assert find_towns(question, TownIndex(["兰考县司法局", "清河县司法局"])) == (found, [])


def test_a_county_in_english_is_its_departments_when_no_report_is_the_countys() -> None:
    text = "How many legal aid cases did the Qinghe County Justice Bureau handle?"
    assert find_towns(text, TownIndex(["清河县司法局", "太平镇"])) == (["清河县司法局"], [])
    assert find_towns(text, TownIndex(["清河县", "太平镇"])) == (["清河县"], [])
