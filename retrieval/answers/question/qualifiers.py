"""What a question asks beyond its topic, which the figure's own sentence must say too.

"有多少名执法人员没考过执法证" asks for those who did not pass: "14名通过考试" is its trap, not its answer.
The same holds for an average ("平均一场多少人": a total is not one) and for a plan ("明年打算搞多少次": this
year's result is not one). Each qualifier is a pattern that marks it in a question and the words a sentence
carrying it uses.
"""

import re

# name → (how a question asks it, how a report's sentence says it)
QUALIFIERS: dict[str, tuple[re.Pattern[str], re.Pattern[str]]] = {
    "negated": (re.compile(r"(?<!有)(?:没|未|尚未|还没)(?!有(?:多少|几))[\u4e00-\u9fff]"),
                re.compile(r"[未没尚待仍剩不]|正在|除.{0,20}外")),
    "average": (re.compile(r"平均|人均|每(?:场|次|个|人|户|村|名)平均"), re.compile(r"平均|人均|每")),
    "planned": (re.compile(r"打算|计划|明年|下一步|预计"),
                re.compile(r"计划|打算|下一步|预计|力争|争取|目标|拟|将")),
}


def asked(text: str) -> tuple[str, ...]:
    """The qualifiers a question asks for."""
    return tuple(name for name, (question, _) in QUALIFIERS.items() if question.search(text))


def carried(names: tuple[str, ...], sentence: str) -> bool:
    """Whether ``sentence`` says every qualifier in ``names``."""
    return all(QUALIFIERS[name][1].search(sentence) for name in names)
