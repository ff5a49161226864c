"""glc, the General-Level Compiler: library facade (``Workspace``) and CLI."""

from __future__ import annotations

from glc.compiler.plan import GLC_VERSION as __version__

__all__ = ["__version__"]
