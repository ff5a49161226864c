"""Spies the tests put on the file system."""

from __future__ import annotations

import os

import pytest


def opened_files(monkeypatch: pytest.MonkeyPatch, suffix: str = "", *, names: bool = False) -> list[str]:
    """Every path ending in ``suffix`` that ``os.open`` is asked for from now on, in order (with
    ``names``: its file name only). The list fills as the code under test opens files."""
    opened: list[str] = []
    real_open = os.open

    def spy(path: object, *a: object, **k: object) -> int:
        if str(path).endswith(suffix):
            opened.append(os.path.basename(str(path)) if names else str(path))
        return real_open(path, *a, **k)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "open", spy)
    return opened
