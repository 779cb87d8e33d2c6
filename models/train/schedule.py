"""Schedules over the training steps: the one-cycle learning rate and the late ramp of the edit and adversarial
terms."""

from __future__ import annotations

import math


def lr_at(step: int, total: int, peak: float, warmup: float) -> float:
    """One-cycle: linear warm-up from peak/25 over ``warmup`` of the steps, then cosine down to peak/1000."""
    w = max(1, int(warmup * total))
    if step < w:
        return peak * (0.04 + 0.96 * step / w)
    t = min(1.0, (step - w) / max(1, total - w))
    return peak * (0.001 + 0.999 * 0.5 * (1 + math.cos(math.pi * t)))


def late_ramp(step: int, total: int, start: float) -> float:
    """Scale of a late term (edit, adversarial): 0 before ``start`` of the steps, then a linear ramp to 1 over the next
    10%."""
    if start <= 0:
        return 1.0
    return min(1.0, max(0.0, (step / max(1, total) - start) / 0.1))
