"""What kind of answer a question asks for, from its question words: one figure, several (``multi``), a
comparison across units, an example or practice (no figure), a name or a reason, the report's own date."""

import re
from collections.abc import Sequence

COMPARE = re.compile(r"哪个镇|哪些镇|哪个乡|哪些乡|各镇|各乡|各个镇|每个镇|几个镇|所有镇|哪个街道|各街道|"
                     r"哪几个镇|哪家镇|各地|对比|比较|相比|排名|哪些单位|各单位|哪个单位|哪个[县区局委]|各[县区局]|"
                     r"\b(?:each|every|which) (?:town|township|unit)s?\b|\bcompare", re.I)
# "哪个县司法局法律援助案件多", "哪个镇调解员配得少": which one has more, at the end of the question.
_WHICH_MORE = r"哪[个些家位]?[^，。？?]{1,24}?(?:多|(?<!多)少|高|低)(?:一些|一点|些)?[？?。！!]?$"
_WHICH_LESS = r"哪[个些家位]?[^，。？?]{1,24}?(?:(?<!多)少|低)(?:一些|一点|些)?[？?。！!]?$"
MOST = re.compile(_WHICH_MORE + r"|最多|最少|最高|最低|哪个多|哪个少|谁多|谁少|更多|更少|多还是少|"
                  r"\b(?:which|who)\b[^?？]*\b(?:more|most|fewer|fewest|less|least|higher|highest|lower|lowest)\b",
                  re.I)
LEAST = re.compile(_WHICH_LESS + r"|最少|最低|哪个少|谁少|更少|"
                   r"\b(?:which|who)\b[^?？]*\b(?:fewer|fewest|less|least|lower|lowest)\b", re.I)
EXAMPLE = re.compile(r"例子|案例|做法|经验|举个|举例|讲一个|讲讲|怎么|如何|怎样|介绍|典型|措施|办法|亮点|具体做了什么|"
                     r"法子|招数|妙招|高招|新招|花样|门道|"
                     r"\b(?:example|how (?:does|do|did)|what (?:did|does|measures))\b", re.I)
QUANTITY = re.compile(r"多少|(?<!哪)几[个名人次场件起宗家份项条位户批天级期号]?|"  # 哪几个镇: which, not how many
                      r"哪天|哪一天|什么时候|啥时候|何时|日期|几月|"
                      r"多久|多长时间|多长|多大|多宽|多高|多远|多重|频次|频率|第几|哪年|哪个月|"
                      r"[完成办结处理覆盖参与]率|比例|百分之|金额|总额|人数|数量|次数|场次|件数|"
                      r"\bhow (?:many|much|often|long)\b|\bwhen\b|\bwhat (?:share|percentage|date|day)\b|"
                      r"\b(?:rate|share|percentage|proportion|amount|total|number|sum|count)\b")
# Who or which body does something ("法律顾问是谁", "哪家律所"), or why: a name or a reason is asked, never a figure.
WHO = re.compile(r"谁(?![多少更的])|哪位|为什么|为何|\bwhy\b|哪家(?:律所|律师事务所|单位|机构)|"
                 r"哪个(?:单位|部门|律所|律师事务所|机构|科室)|什么(?:单位|部门|机构|人员?)(?:负责|担任|牵头)|"
                 r"\bwho\b", re.I)
BREAKDOWN = re.compile(r"分别|都是哪|哪几类|哪些类|哪几种|都有哪|具体|其中|构成|明细|分项|什么人|做了什么|包括")
# "报告是哪天报的", "各镇的报告都是哪天出的", "落款日期": the date the report itself was signed.
REPORT_DATE = re.compile(r"(?:报告|总结|材料|这份).{0,8}(?:哪天|哪一天|什么时候|啥时候|何时|几月几[日号]|日期).{0,4}"
                         r"(?:报|出|写|交|发|印|签|定稿|成文|落款)|落款|成文日期|"
                         r"\bwhen was\b.{0,30}\breport\b|\breport\b.{0,30}\b(?:dated|signed)\b", re.I)
ENGLISH_ASKS = re.compile(r"\bhow (?:many|much)\b|\bwhat (?:share|percentage)\b")


# "哪些镇搞了法治进校园？有次数的说一下": which units did something is asked; a figure only on the side.
_ASIDE = re.compile(r"[？?！!。；;]\s*(?:有|如果有|要是有|若有)[^？?！!。；;]*?的?(?:话)?[，,]?\s*(?:也)?"
                    r"(?:说|讲|列|报|给)")


def asks_quantity(text: str) -> bool:
    """A figure is asked for: by a question word (多少, 几, 哪天 …) or which is most, and not only in an aside
    after the question ("……？有次数的说一下")."""
    lowered = text.lower()
    aside = _ASIDE.search(lowered)
    asked = lowered[:aside.start()] if aside else lowered
    return bool(QUANTITY.search(asked) or MOST.search(asked))


def kind(text: str, towns: Sequence[str]) -> str:
    """What a question asks for: a comparison, an example (no figure), several figures, or one."""
    quantity = asks_quantity(text)
    text = text.lower()
    if COMPARE.search(text) or len(towns) >= 2 or (MOST.search(text) and not towns):
        return "compare"
    if not quantity:
        return "example"
    asks = len(re.findall(r"多少|(?<!哪)几", text))
    if BREAKDOWN.search(text) or asks >= 2 or len(ENGLISH_ASKS.findall(text)) >= 2:
        return "multi"
    return "figure"
