"""Reading charts back: how many bars a PNG made by ``retrieval.answers.reply.chart`` shows."""

import io

import numpy as np
from PIL import Image

from retrieval.answers.reply.chart import BAR_COLOR


def bar_count(png: bytes, color: str = BAR_COLOR) -> int:
    """Bars in a chart: the most runs of the bar colour met by one column of pixels (every bar starts at 0,
    and nothing else in the image has that colour)."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
    mask = (np.abs(pixels - rgb).sum(axis=2) == 0).T  # one row per column of the image
    starts = mask[:, 1:] & ~mask[:, :-1]
    return int((starts.sum(axis=1) + mask[:, 0]).max())
