"""Bar charts of comparison answers, as PNG bytes.

One horizontal bar per unit, its value ``Figure.value`` and its label the figure as printed ("40余场"); units
that count different kinds of thing (人 and 人次, 件 and 元) get an axis each, never one axis together; a
unit's year stands beside its name and the chart says when the years differ. The Chinese font ships with
the ``noto-cjk-sans-otc`` package (Noto Sans CJK, SIL Open Font License), never one the machine happens to
have. matplotlib is imported on first use only: answering a question never loads it.
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from retrieval.answers.reply.answer import Answer
from retrieval.answers.reply.render import GROUP_NAMES, NO_FIGURE, Row, comparison_rows, is_table, table_notes
from retrieval.errors import FazhiError

if TYPE_CHECKING:
    from matplotlib.font_manager import FontProperties

BAR_COLOR = "#2f6db5"  # every bar, and nothing else in the image, has this colour
FONT_FAMILY = "Noto Sans CJK SC"
DPI = 144
WIDTH_IN = 7.2
BAR_IN = 0.42  # height per bar
AXIS_IN = 0.9  # per axis: its title and tick labels
_LOCK = threading.Lock()  # matplotlib's font cache and rc parameters are process-wide


class ChartError(FazhiError):
    """No chart can be drawn: the answer compares no figures, or matplotlib/the font is not installed
    (``package`` names what to install)."""

    def __init__(self, message: str, package: str = "") -> None:
        super().__init__(message)
        self.package = package


def chart_groups(answer: Answer) -> list[tuple[str, list[Row]]]:
    """The bars of ``answer`` by kind of unit, one axis each, in the answer's order; only rows with a value."""
    if not is_table(answer):
        raise ChartError("not a comparison of figures")
    groups: dict[str, list[Row]] = {}
    for row in comparison_rows(answer):
        if row.value is not None:
            groups.setdefault(row.group, []).append(row)
    if not groups:
        raise ChartError("no figure has a value")
    return list(groups.items())


def bar_chart(answer: Answer) -> bytes:
    """The comparison as a PNG image (raises ChartError when there is nothing to draw)."""
    groups = chart_groups(answer)
    font = _font()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    notes = _notes(answer, [row for _, rows in groups for row in rows])
    heights = [AXIS_IN + BAR_IN * len(rows) for _, rows in groups]
    height = sum(heights) + 0.7 + 0.25 * len(notes)
    with _LOCK:
        figure = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(len(groups), 1, squeeze=False, height_ratios=heights)[:, 0]
        for ax, (group, rows) in zip(axes, groups, strict=True):
            _draw(ax, group, rows, font)
        figure.suptitle(answer.lead, fontproperties=font, fontsize=13)
        if notes:
            figure.supxlabel("\n".join(notes), fontproperties=font, fontsize=8.5, color="#555555", ha="left", x=0.02)
        out = io.BytesIO()
        figure.savefig(out, format="png", facecolor="white")
    return out.getvalue()


def _draw(ax: Any, group: str, rows: list[Row], font: FontProperties) -> None:
    labels = [f"{row.unit}　{row.year}年" for row in rows]
    values = [float(row.value or 0) for row in rows]
    positions = list(range(len(rows)))[::-1]  # the first row on top
    bars = ax.barh(positions, values, color=BAR_COLOR, height=0.6, antialiased=False)
    ax.bar_label(bars, labels=[row.figure or "" for row in rows], padding=4, fontproperties=font, fontsize=10)
    ax.set_yticks(positions, labels, fontproperties=font, fontsize=10)
    measures = "、".join(dict.fromkeys(row.measure for row in rows))
    name = GROUP_NAMES.get(group, "数量")
    ax.set_title(name if name == measures else f"{name}（{measures}）", fontproperties=font, fontsize=10.5, loc="left")
    ax.set_xlim(0, max(values) * 1.25 or 1)
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(axis="x", labelsize=8)


def _notes(answer: Answer, rows: list[Row]) -> list[str]:
    notes = table_notes(rows)
    if answer.missing:
        missing = "、".join(answer.missing)
        notes.append(f"{NO_FIGURE}：" + (missing if len(missing) <= 60 else missing[:59] + "…"))
    return notes


@lru_cache(maxsize=1)
def _font() -> FontProperties:
    """The bundled Noto Sans CJK SC face, registered with matplotlib once."""
    try:
        import noto_cjk_sans_otc
        from matplotlib import font_manager
    except ImportError as error:
        raise ChartError(f"missing package: {error.name}", package=error.name or "matplotlib") from error
    with _LOCK:
        font_manager.fontManager.addfont(str(noto_cjk_sans_otc.FONT_PATH))
    return font_manager.FontProperties(family=FONT_FAMILY)
