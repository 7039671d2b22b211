"""Which kinds of figure a question asks for: the measure word after its question word, else what its topic
words or counted noun are (罚款 is money, 调解员 are people, 讲座 are held so many times)."""

import re

from retrieval.reports.figures import UNIT_GROUP

# 几 asks a number unless it points ("那几起纠纷涉及多少户": the question word is 多少, and 户 its measure).
_ASKED_UNIT = re.compile(r"(?:多少|(?<![哪那这])几)\s*(" + "|".join(sorted(UNIT_GROUP, key=len, reverse=True)) + ")")
_UNCOUNTED = re.compile(r"(?:多少|(?<![哪那这])几)\s*[株棵只头匹尾]")  # classifiers of plants and animals
# Nouns that begin with a measure word: "多少项目" asks for projects, not for so many 项.
_NOUN_AFTER = ("人民", "项目", "家庭", "场所", "场地", "期间")
# Words of the question that name the kind of figure asked for.
_TOPIC_UNITS = (
    (re.compile(r"多少钱|金额|总额|罚款多少|罚了多少|投入|经费|资金|\bhow much\b|\binvest|\bspen[dt]\b|\byuan\b|"
                r"\bamount\b"),
     ("money",)),
    (re.compile(r"(?:多久|多长时间|隔几天).{0,6}一[次回趟]|频次|频率|每[天日周月年季].{0,2}几次|几次一[周月]|"
                r"\bhow often\b"),
     ("frequency",)),
    (re.compile(r"哪天|哪一天|什么时候|啥时候|何时|日期|几月|几号|哪个月|哪年|\bwhen\b|\bwhat (?:date|day)\b"),
     ("date",)),
    (re.compile(r"多长时间|多久|多少天|几天|几个月|多少年|\bhow long\b"), ("duration",)),
    (re.compile(r"率|比例|百分|占比|\b(?:share|percent|percentage|rate|proportion)\b"), ("percent",)),
    (re.compile(r"多大|多宽|多高|多远|面积|占地|长度|\b(?:how (?:big|large|wide)|area)\b"), ("area",)),
    (re.compile(r"多重|重量|\bhow heavy\b"), ("weight",)),
    (re.compile(r"人数|人(?=[？?，,。！!\s]|$)|\bhow many (?:people|persons)\b(?!')"), ("person", "person_times")),
    (re.compile(r"\bhow many (?:times|sessions|events|rounds)\b"), ("times",)),
    (re.compile(r"\bhow many (?:[a-z'-]+ ){0,3}(?:visits|meetings|lectures|seminars|trainings|inspections|checks|"
                r"campaigns|activities)\b"), ("times", "case", "visit")),  # events: 次, 场, 起 or 家次
    (re.compile(r"\bhow many (?:[a-z'-]+ ){0,2}(?:cases|disputes|lawsuits|letters|petitions)\b"), ("case", "item")),
    (re.compile(r"\bhow many (?:[a-z'-]+ ){0,2}households\b"), ("household",)),
)
# The head noun of the topic (its last noun) says what is counted: 网格员 are people, 宣传资料 are items.
_HEAD_UNITS = (
    (re.compile(r"(?:群众|对象|来访者)$"), ("person", "person_times")),  # people served are often counted in visits
    (re.compile(r"(?:[员者]|(?<!法)人|人员|干部|律师|志愿者)$"), ("person",)),  # 残疾人, 明白人; not 法人
    (re.compile(r"(?:纠纷|案件|案子|积案|诉求)$"), ("case",)),
    (re.compile(r"(?:罚款|罚金|罚没款|经费|资金|金额|款项|补贴|补助|奖金|奖励金|收入)$"), ("money",)),
    (re.compile(r"(?:企业|单位|公司|商户|科室|部门|机构|站所)$"), ("org", "visit", "generic")),
    (re.compile(r"(?:活动|讲座|培训|会议|检查|宣传|演练|比赛)$"), ("times", "person_times")),
    (re.compile(r"(?:资料|材料|手册|文书|协议书|宣传单|明白纸|决定书|制度|清单|意见|建议)$"), ("item",)),
)
_PEOPLE = re.compile(r"(?:多少|(?<![哪那这])几)\s*个人(?![民次大])")
# What 个 may count: things of every kind, and 件 (matters, documents: "几个问题" ~ "23件").
_COUNTABLE = ("generic", "person", "org", "item", "household", "level", "case")
# Measure words asked that figures write with another one too: 个 counts teams (几支 ~ 7个), pieces (几块 ~ 10个)
# and items (几项 ~ 3个); 件 counts documents (几份合同 ~ 3件); a 批 of visitors is also so many 批次.
_ALSO = {"org": ("generic",), "item": ("generic", "case"), "level": ("generic",), "visit": ("times",)}


def asked_groups(text: str, topic: str, nouns: list[str], counted: str = "") -> tuple[str, ...]:
    """The measure-word groups a question's answer may use: the measure after its question word ("多少名"),
    else what its topic or counted noun is ("罚款" is money, "调解员" are people); empty: any."""
    asked = next((m for m in _ASKED_UNIT.finditer(text)  # "多少人民调解员": 人 starts the noun 人民
                  if not text.startswith(_NOUN_AFTER, m.start(1))), None)
    by_noun = next((groups for pattern, groups in _TOPIC_UNITS if pattern.search(topic.lower())), ())
    for noun in ([counted] if counted else []) + nouns[-1:]:  # what is counted, else the topic's last noun
        by_noun = by_noun or next((groups for pattern, groups in _HEAD_UNITS if pattern.search(noun)), ())
    if asked and asked.group(1) == "个" and _PEOPLE.search(text):  # "派了几个人去…": people, whatever the topic
        return ("person",)
    if asked and asked.group(1) == "个":  # "多少个调解员", "几个": 个 is only a classifier of things counted
        return by_noun or _COUNTABLE
    if asked and by_noun == ("frequency",):  # "隔几天巡逻一次": how often, though 几天 is asked
        return by_noun
    if asked:
        group = UNIT_GROUP[asked.group(1)]
        return ("person", "person_times") if asked.group(1) == "人" else (group, *_ALSO.get(group, ()))
    if _UNCOUNTED.search(text):  # "多少株美人蕉": no figure the ledger holds is counted so
        return ("uncounted",)
    return by_noun
