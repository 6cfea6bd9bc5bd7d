"""One colour per label, shared by the Tag step's drawings and the trace page."""

from __future__ import annotations

import colorsys


def label_rgb(label: str) -> tuple[int, int, int]:
    """A stable, saturated colour for a label: the same label gets the same colour everywhere."""
    h = (sum(ord(c) * 131**i for i, c in enumerate(label)) % 360) / 360.0
    r, g, b = colorsys.hsv_to_rgb(h, 0.85, 0.95)
    return int(r * 255), int(g * 255), int(b * 255)
