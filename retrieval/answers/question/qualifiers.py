"""What a question asks beyond its topic, which the figure's own sentence must say too.

"有多少名执法人员没考过执法证" asks for those who did not pass: "14名通过考试" is its trap, not its answer.
The same holds for an average ("平均一场多少人": a total is not one), a plan ("明年打算搞多少次": this year's
result is not one), the others ("其他干部": not the main leaders') and those added ("新增": not all there
are). Each qualifier is a pattern that marks it in a question and the words a report uses to say it.
"""

import re

# name → (how a question asks it, how a report says it, whether the figure's own clause must say it rather
# than its sentence or section: "除3件待审核通过外" is not done, "共受理119件，除3件…" is all of them)
QUALIFIERS: dict[str, tuple[re.Pattern[str], re.Pattern[str], bool]] = {
    "negated": (re.compile(r"(?<!有)(?:没|未|尚未|还没)(?!有(?:多少|几))[\u4e00-\u9fff]"),
                re.compile(r"[未没尚待仍剩不]|正在|除.{0,20}外"), True),
    "average": (re.compile(r"平均|人均|每(?:场|次|个|人|户|村|名)平均"), re.compile(r"平均|人均|每"), False),
    "planned": (re.compile(r"打算|计划|明年|下一步|预计"),
                re.compile(r"计划|打算|下一步|预计|力争|争取|目标|拟"), False),
    # "其他干部接访下访了多少次": not the main leaders' 96次 (other towns, "其他镇呢", are a follow-up's)
    "others": (re.compile(r"(?:其他|其余|其它|别的)(?!镇|乡|街道|地方|单位|年)"),
               re.compile(r"其他|其余|其它|另"), True),
    "added": (re.compile(r"新增|新招|新发展|新登记"), re.compile(r"新"), False),  # not those there are now
}


def asked(text: str) -> tuple[str, ...]:
    """The qualifiers a question asks for."""
    return tuple(name for name, (question, *_) in QUALIFIERS.items() if question.search(text))


def carried(names: tuple[str, ...], own: str, around: str) -> bool:
    """Whether a figure says every qualifier in ``names``: in its ``own`` clause, or (for those that may stand
    apart from it) in the sentence and section ``around`` it."""
    return all(QUALIFIERS[name][1].search(own if QUALIFIERS[name][2] else around) for name in names)
