"""glc compiler: YAML specs -> typed specs -> resolved project -> compiled SQL DAG + manifest.

The compiler imports neither the runners nor any inference backend; it owns the table
contracts that every other part of glc reads and writes.
"""

from __future__ import annotations

from glc.compiler.errors import GlcError, SpecError, SpecErrors

__all__ = ["GlcError", "SpecError", "SpecErrors"]
