"""glc, the General-Level Compiler: library facade (``Workspace``) and CLI."""

from __future__ import annotations

# kept here, not imported from the compiler: ``import glc`` (every command) stays cheap
__version__ = "0.1.0"

__all__ = ["__version__"]
