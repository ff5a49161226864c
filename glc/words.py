"""Wording of counts in messages: "1 task", "2 tasks", "0 models"."""

from __future__ import annotations


def plural(n: int, noun: str, many: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one (``many``: an irregular plural)."""
    return f"{n} {noun if n == 1 else (many or noun + 's')}"
