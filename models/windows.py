"""Split long token sequences into overlapping windows and merge per-token predictions back."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Window:
    """Tokens [start, end) of one text; `keep_from`/`keep_to` is the part whose predictions we trust."""

    start: int
    end: int
    keep_from: int
    keep_to: int


def make_windows(n_tokens: int, size: int, stride: int) -> list[Window]:
    """Windows of `size` tokens advancing by `stride`; each token is kept from the window where it
    sits furthest from an edge, so every token gets context on both sides where the text allows."""
    if n_tokens <= size:
        return [Window(0, n_tokens, 0, n_tokens)]
    starts = list(range(0, n_tokens - size, stride)) + [n_tokens - size]
    wins = []
    for i, s in enumerate(starts):
        e = s + size
        lo = 0 if i == 0 else (s + (starts[i - 1] + size)) // 2
        hi = n_tokens if i == len(starts) - 1 else (e + starts[i + 1]) // 2
        wins.append(Window(s, e, lo, hi))
    return wins
