"""Every sentence the bot shows a user, in Chinese, and the few helpers that format them as Telegram HTML.

Anything user-provided or taken from a report is escaped here; the answer itself is rendered by
``retrieval.answers.reply.render.render(answer, html=True)``, which escapes its own text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import escape, unescape

from retrieval.answers.reply.answer import Citation, Source
from retrieval.answers.reply.chart import ChartError
from retrieval.errors import (
    DuplicateReportError,
    FazhiError,
    IndexBusyError,
    MissingMetadataError,
    NoTextError,
    ReportError,
    UnknownReportError,
    UnsupportedFormatError,
)
from retrieval.reports.documents import Report
from retrieval.reports.indexing import AddResult
from retrieval.tools.review import STATUS_NAMES, ReviewItem

MAX_MESSAGE_CHARS = 4096
MAX_QUESTION_CHARS = 300
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
EXAMPLES = ("太平镇有多少人民调解员？", "中塘镇2021年化解了多少矛盾纠纷？", "双塔镇是怎么开展普法宣传的？")

NO_TOKEN = (
    "未设置 TELEGRAM_BOT_TOKEN，机器人无法启动。请向 @BotFather 申请令牌，并设置环境变量 TELEGRAM_BOT_TOKEN。\n"
    "TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and export TELEGRAM_BOT_TOKEN."
)
BAD_TOKEN = (
    "Telegram 拒绝了 TELEGRAM_BOT_TOKEN（令牌无效或已被撤销），请向 @BotFather 核对令牌。\n"
    "Telegram rejected TELEGRAM_BOT_TOKEN (invalid or revoked): check it with @BotFather."
)
MODEL_UNAVAILABLE = (
    "无法加载向量模型 {model}（{reason}）。不能访问模型仓库的机器上请不要设置 FAZHI_EMBED_MODEL"
    "（默认模型随安装包提供），或把它设为本地模型文件夹的路径。"
)
NO_NETWORK = "无法连接 Telegram 服务器，请检查网络后重试。\nCannot reach the Telegram Bot API: {error}"
COMMANDS = (
    ("ask", "提问，例如 /ask 太平镇有多少人民调解员？"),
    ("chart", "各镇同一指标的柱状图，例如 /chart 人民调解员"),
    ("sources", "已收录的报告"),
    ("help", "用法和示例问题"),
    ("start", "开始使用"),
)

NOT_ALLOWED = "抱歉，本机器人仅供授权人员使用。如需使用，请联系管理员开通。"
ERROR = "抱歉，处理您的消息时出了点问题，请稍后再试。"
EMPTY_QUESTION = "请输入您的问题，例如：" + EXAMPLES[0]
ASK_USAGE = "请在 /ask 后面写上问题，例如：/ask " + EXAMPLES[0]
NOT_A_QUESTION = "我只能回答文字问题。请用中文提问，例如：" + EXAMPLES[0]
UNKNOWN_COMMAND = "没有这个命令。可用的命令：/ask 提问、/sources 已收录的报告、/help 用法。也可以直接发送问题。"
STICKER = "收到表情了 🙂 我只能回答文字问题，请直接用中文提问，例如：" + EXAMPLES[0]
PHOTO = "我暂时看不懂图片。请用文字提问；管理员上传报告请发送 .docx、.pdf 或 .txt 文件。"
VOICE = "我暂时听不了语音。请用文字提问，例如：" + EXAMPLES[0]
OTHER_MEDIA = "我只能回答文字问题，请直接用中文提问，例如：" + EXAMPLES[0]
UPLOAD_NOT_ADMIN = "只有管理员可以上传报告。如需补充报告，请将文件发给管理员。"
UPLOAD_TOO_BIG = "文件超过 20 MB，无法接收。请压缩或删去图片后再上传。"
UPLOAD_RECEIVED = "已收到文件，正在读取和建立索引，请稍候……"
MORE_BUTTON = "其他相关段落"
MORE_EXPIRED = "这条回答的相关段落已过期，请重新提问。"
MORE_NONE = "没有其他相关段落。"
INLINE_NOT_FOUND = "没有找到相关数字，换个说法试试"
INLINE_HELP = "输入镇名和关键词，例如：太平镇 人民调解员"

# ---- charts and "这个数字不对" ----
CHART_BUTTON = "📊 图表"
WRONG_BUTTON = "这个数字不对"
ANSWER_EXPIRED = "这条回答已过期，请重新提问。"
CHART_USAGE = "请在 /chart 后面写上指标，例如：/chart 人民调解员"
CHART_QUESTION = "各镇{topic}分别是多少？"
NO_CHART = "这条回答没有可以比较的数字，画不出图表。可以问“各镇人民调解员分别是多少？”这样的比较问题。"
CHART_UNAVAILABLE = "图表功能暂不可用（服务器缺少 {package}），请联系管理员。"
WRONG_WHICH = "是哪个数字不对？请点选："
REVIEW_THANKS = "谢谢指正！已记录为第 {id} 号纠错（{figure}，{where}），管理员核对后会更正。"

# ---- admin ----
ADMIN_ONLY = "抱歉，这个命令仅限管理员使用。如发现数字有误，可以点回答下方的“这个数字不对”。"
REVIEW_NONE = "没有待处理的纠错。"
REVIEW_WRONG_BUTTON = "确认有误"
REVIEW_OK_BUTTON = "没有问题"
REVIEW_ASK_CORRECT = "第 {id} 号已确认有误。请回复这条消息，写出报告中正确的数字（照原文写法，例如 63名）。"
REVIEW_CORRECTED = "已记录第 {id} 号的正确数字：{figure}。命令行 fazhi review --export gold.jsonl 可导出为评测题。"
REVIEW_GONE = "没有这条纠错（可能已被删除）。"
REMOVE_USAGE = "用法：/remove 镇名 年份，例如 /remove 太平镇 2023"
REMOVE_YES = "确认删除"
REMOVE_NO = "取消"
REMOVE_CANCELLED = "已取消，报告保留。"
LEDGER_USAGE = "用法：/ledger 镇名 [年份]，例如 /ledger 太平镇 2023"

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[A-Za-z0-9\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_TAG = re.compile(r"<[^>]*>")
_FORMATS = "支持的格式：.docx、.pdf（带文字层）、.txt、.md。"
_SUFFIX_ADVICE = {
    ".doc": "无法读取旧版 Word（.doc）文件，请另存为 .docx 后再上传。",
    ".wps": "无法读取 WPS（.wps）文件，请另存为 .docx 后再上传。",
    ".docm": "无法读取带宏的 Word 文件，请另存为 .docx 后再上传。",
    ".rtf": "无法读取 .rtf 文件，请另存为 .docx 后再上传。",
    ".xls": "这是表格文件，不是报告。请上传报告正文（.docx、.pdf 或 .txt）。",
    ".xlsx": "这是表格文件，不是报告。请上传报告正文（.docx、.pdf 或 .txt）。",
    ".zip": "无法读取压缩包，请解压后逐个上传报告文件。",
    ".rar": "无法读取压缩包，请解压后逐个上传报告文件。",
    "binary": "这个文件不是文字文件（可能是其他格式改了扩展名）。请上传报告的 .docx、.pdf 或 .txt 文件。",
    "corrupt": "文件已损坏或格式与扩展名不符，无法打开。请重新导出后再上传。",
    "encrypted": "PDF 设置了打开密码，无法读取。请去掉密码或另存为 .docx 后再上传。",
    "none": "文件没有扩展名，无法判断格式。" + "支持的格式：.docx、.pdf（带文字层）、.txt、.md。",
}
_IMAGES = (".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic")
_MISSING = {"town": "单位", "year": "年份"}


def start_text(first_name: str) -> str:
    return (
        f"{escape(first_name)}，您好！我是乡镇法治政府建设工作报告问答助手。\n\n"
        f"直接发送问题即可，例如：{EXAMPLES[0]}\n"
        "我会从已收录的报告中找出数字并注明出处。/help 查看用法，/sources 查看已收录的报告。"
    )


ADMIN_HELP = ("\n\n<b>管理员命令</b>\n/review 处理纠错；/reports 已收录的报告（段落、数字、登记时间）；"
              "/remove 镇名 年份 删除报告；/ledger 镇名 [年份] 数字台账（CSV）；私聊发送报告文件即可收录。")


def help_text(reports: Sequence[Report], username: str, admin: bool = False) -> str:
    towns = "、".join(dict.fromkeys(escape(report.label) for report in reports)) or "（暂无）"
    examples = "\n".join(f"• {example}" for example in EXAMPLES)
    return (
        f"<b>我能回答什么</b>\n已收录 {len(reports)} 份乡镇法治政府建设工作报告：{towns}。"
        "可以问数字（人数、件数、场次、金额），也可以问做法和典型经验，每个数字都注明出自哪份报告。\n\n"
        f"<b>示例问题</b>\n{examples}\n\n"
        "<b>追问</b>\n问完一个镇，可以接着问“那双塔镇呢？”，15 分钟内会记住上文。\n\n"
        "<b>在群里提问</b>\n发送 /ask 问题，或 @" + escape(username) + " 问题，或直接回复我的消息。"
        "其他聊天我不会打扰。\n\n"
        "<b>在任意聊天中引用数字</b>\n输入 @" + escape(username) + " 太平镇 人民调解员，选择结果即可发送。\n\n"
        "<b>比较与图表</b>\n问“各镇人民调解员分别是多少？”得到比较表，点“📊 图表”看柱状图；"
        "也可以直接发送 /chart 人民调解员。单位很多时表中只列前几个，完整的表另发一个 CSV 文件。\n\n"
        "<b>发现数字不对</b>\n点回答下方的“这个数字不对”，管理员会核对更正。\n\n"
        "/sources 查看已收录的报告。" + (ADMIN_HELP if admin else "")
    )


def group_greeting(username: str) -> str:
    return (
        f"大家好！我是法治政府建设报告问答助手。在群里提问请发送 /ask 问题，或 @{username} 问题，"
        f"或直接回复我的消息，例如：/ask {EXAMPLES[0]}"
    )


def sources_text(reports: Sequence[Report]) -> str:
    if not reports:
        return "暂未收录任何报告。"
    lines = [f"<b>已收录 {len(reports)} 份报告</b>"]
    for report in sorted(reports, key=lambda r: (r.town, r.year)):
        lines.append(f"• {escape(report.town)}　{report.year}年　《{escape(report.title)}》")
    return "\n".join(lines)


def question_problem(question: str) -> str | None:
    """A reply when ``question`` cannot be a question (blank, too long, no words); ``None`` when it can."""
    if not question.strip():
        return EMPTY_QUESTION
    if len(question) > MAX_QUESTION_CHARS:
        return (
            f"问题太长了（{len(question)} 字）。请用一两句话提问（{MAX_QUESTION_CHARS} 字以内），"
            f"例如：{EXAMPLES[0]}"
        )
    if not _CJK.search(question) and not _WORD.search(question):
        return NOT_A_QUESTION
    return None


def more_sources_html(sources: Sequence[Source]) -> str:
    if not sources:
        return MORE_NONE
    parts = [f"<b>{MORE_BUTTON}</b>"]
    for number, source in enumerate(sources, 1):
        where = escape(source.report.label) + (f" · {escape(source.section)}" if source.section else "")
        parts.append(f"{number}. {where}\n{escape(source.passage)}")
    return "\n\n".join(parts)


def citation_html(citation: Citation) -> str:
    """One cited figure as a message that can stand alone in any chat."""
    report = citation.source.report
    headline = citation.headline or (citation.figure.text if citation.figure else "")
    lines = [f"{escape(report.label)}：<b>{escape(headline)}</b>" if headline else escape(report.label)]
    lines.append(f"“{escape(citation.sentence)}”")
    where = f"——《{escape(report.title)}》"
    if citation.source.section:
        where += f" {escape(citation.source.section)}"
    lines.append(where)
    return "\n".join(lines)


def citation_title(citation: Citation) -> str:
    headline = citation.headline or (citation.figure.text if citation.figure else citation.sentence)
    return f"{citation.source.report.label}：{headline}"[:120]


def upload_done(result: AddResult) -> str:
    report = result.report
    lines = [
        f"已收录：<b>{escape(report.label)}</b>",
        f"标题：《{escape(report.title)}》",
        f"段落：{report.passages} 段；数字：{len(result.figures)} 个",
    ]
    if result.figures:
        lines.append("例如：" + "；".join(escape(f"{fig.subject}{fig.text}") for fig in result.figures[:5]))
    if result.replaced is not None:
        lines.append(f"已替换旧报告：《{escape(result.replaced.title)}》")
    lines.append(f"现在就可以提问，例如：{escape(report.town)}有多少人民调解员？")
    return "\n".join(lines)


def report_error(error: FazhiError) -> str:
    """The one Chinese sentence telling an admin what to do about a file the core refused, naming the file
    (or why a chart cannot be drawn)."""
    if isinstance(error, ChartError):
        return CHART_UNAVAILABLE.format(package=escape(error.package)) if error.package else NO_CHART
    sentence = _report_sentence(error)
    source = escape(error.source) if isinstance(error, ReportError) else ""
    return f"《{source}》：{sentence}" if source and f"《{source}》" not in sentence else sentence


def _report_sentence(error: FazhiError) -> str:
    if isinstance(error, UnsupportedFormatError):
        suffix = error.suffix.lower()
        if suffix in _SUFFIX_ADVICE:
            return _SUFFIX_ADVICE[suffix]
        if suffix in _IMAGES:
            return "图片无法读取文字。请上传报告的 .docx、带文字层的 .pdf 或 .txt 文件。"
        return f"无法识别这种文件（{escape(suffix)}）。{_FORMATS}"
    if isinstance(error, NoTextError):
        return "文件中没有可读取的文字（扫描版 PDF 没有文字层）。请上传带文字层的 PDF，或另存为 .docx 后再上传。"
    if isinstance(error, MissingMetadataError):
        missing = "和".join(_MISSING.get(item, item) for item in error.missing) or "单位和年份"
        return (f"无法从《{escape(error.source or '报告')}》确定{missing}。请在说明中注明单位和年份，例如“太平镇 2024”"
                "（命令行：--unit 太平镇 --year 2024），再重新上传。")
    if isinstance(error, DuplicateReportError):
        first, second = (escape(source) for source in error.sources)
        return (f"《{first}》和《{second}》都是{escape(error.unit)}{error.year}年的报告，同一批只能收录一份。"
                "请去掉其中一份，或用 --unit/--year 注明正确的单位和年份。")
    if isinstance(error, UnknownReportError):
        return f"没有这份报告：{escape(str(error))}。已收录的报告：机器人里发送 /sources，命令行运行 fazhi sources。"
    if isinstance(error, IndexBusyError):
        return "报告索引正在更新中，请过一分钟再上传。"
    if isinstance(error, ReportError):
        return f"无法读取这份报告。{_FORMATS}"
    return ERROR


def plain(html_text: str) -> str:
    """Telegram HTML → the text a user sees (for logs and tests)."""
    return unescape(_TAG.sub("", html_text))


def split_html(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Cut ``text`` into messages of at most ``limit`` characters, at paragraph, line or sentence ends.

    Cuts never fall inside a tag, an entity or an open ``<b>…</b>`` span.
    """
    chunks: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = _cut_point(rest, limit)
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        chunks.append(rest)
    return chunks


def _cut_point(text: str, limit: int) -> int:
    window = text[:limit]
    for pattern in (r"\n\n", r"\n", r"[。！？；!?;]", r"[，、,：:]"):
        for match in reversed(list(re.finditer(pattern, window))):
            if match.end() > limit // 4 and _safe(window, match.end()):
                return match.end()
    for cut in range(limit, limit // 4, -1):
        if _safe(window, cut):
            return cut
    return limit


def _safe(text: str, cut: int) -> bool:
    head = text[:cut]
    open_tag = head.rfind("<") > head.rfind(">")
    open_entity = head.rfind("&") > max(head.rfind(";"), head.rfind(" "))
    opened = len(re.findall(r"<(?!/)[a-z]", head)) - len(re.findall(r"</[a-z]", head))
    return not open_tag and not open_entity and opened == 0


# ---- charts, reviews and admin commands ----


def chart_caption(lead: str, notes: Sequence[str]) -> str:
    return "\n".join([f"📊 {lead}", *notes])[:1000]


def figure_choice(label: str, figure: str) -> str:
    return f"{label} {figure}"[:60]


def review_thanks(item: ReviewItem) -> str:
    return REVIEW_THANKS.format(id=item.id, figure=item.figure, where=f"{item.town}{item.year}年报告")


def _review_body(item: ReviewItem) -> list[str]:
    who = item.user_name or str(item.user_id)
    return [
        f"问题：{escape(item.question)}",
        f"数字：<b>{escape(item.figure)}</b>（{escape(item.town)} {item.year}年）",
        f"原文：「{escape(item.sentence)}」",
        f"来源：《{escape(item.title)}》{' ' + escape(item.section) if item.section else ''}",
        f"报告人：{escape(who)}，{item.created}",
    ]


def review_notice(item: ReviewItem) -> str:
    """What the admins are sent when a user reports a figure."""
    return "\n".join([f"<b>新的纠错 第 {item.id} 号</b>", *_review_body(item), "发送 /review 处理。"])


def review_header(count: int, shown: int) -> str:
    more = f"，先列出前 {shown} 条" if shown < count else ""
    return f"<b>待处理的纠错：{count} 条</b>{more}。每条下方可选“{REVIEW_WRONG_BUTTON}”或“{REVIEW_OK_BUTTON}”。"


def review_item_html(item: ReviewItem, passage_chars: int = 600) -> str:
    """One open item for /review, with its source passage."""
    passage = item.passage if len(item.passage) <= passage_chars else item.passage[:passage_chars] + "……"
    return "\n".join([f"<b>第 {item.id} 号</b>", *_review_body(item), f"段落：{escape(passage)}"])


def review_resolved(item: ReviewItem) -> str:
    correct = f"；正确数字：{escape(item.correct)}" if item.correct else ""
    return f"第 {item.id} 号（{escape(item.town)} {escape(item.figure)}）已标记：{STATUS_NAMES[item.status]}{correct}"


def reports_html(reports: Sequence[Report], first_seen: dict[str, str]) -> str:
    """/reports: every indexed report with its passages, figures and when it was first seen."""
    if not reports:
        return "暂未收录任何报告。"
    lines = [f"<b>已收录 {len(reports)} 份报告</b>（镇、年份、段落、数字、登记时间）"]
    for r in sorted(reports, key=lambda r: (r.town, r.year)):
        seen = first_seen.get(r.doc_id, "未知")
        lines.append(f"• {escape(r.town)} {r.year}年：{r.passages} 段，{r.figures} 个数字，{seen}\n"
                     f"　《{escape(r.title)}》")
    return "\n".join(lines)


def remove_confirm(report: Report) -> str:
    return f"确定删除 <b>{escape(report.label)}</b>《{escape(report.title)}》吗？删除后将不再回答这份报告的问题。"


def remove_done(report: Report, left: int) -> str:
    return f"已删除：{escape(report.label)}《{escape(report.title)}》。现有 {left} 份报告。"


def no_such_report(town: str, year: str) -> str:
    return f"没有{escape(town)}{escape(year)}年的报告。发送 /reports 查看已收录的报告。"


def ledger_name(town: str, year: str) -> str:
    return f"{town}{year + '年' if year else ''}数字台账.csv"


def ledger_caption(town: str, year: str, rows: int) -> str:
    where = f"{town}{year + '年' if year else ''}"
    return f"{where}报告的数字台账：{rows} 个数字（单位、年份、章节、数字、计数对象、原句），Excel 可直接打开。"


_TOPIC = re.compile(r"“([^”]{1,30})”")
_UNSAFE = re.compile(r"[^\w\u4e00-\u9fff]+")


def table_name(lead: str) -> str:
    """The file name of a comparison's full table: its topic (from the answer's lead) + 比较表.csv."""
    topic = _TOPIC.search(lead)
    return f"{_UNSAFE.sub('_', topic.group(1)).strip('_') if topic else ''}比较表.csv"


def table_caption(having: int, without: int) -> str:
    return f"完整比较表：共{having}个单位有此数字，{without}个没有（每个单位一行），Excel 可直接打开。"
