"""glc, the General-Level Compiler: library facade (``Workspace``) and CLI."""

from __future__ import annotations

# kept here, not imported from the compiler: ``import glc`` (every command) stays cheap
__version__ = "0.1.0"

import time as _time

# when this process imported glc (before any of its modules): code changed on disk after it is not
# the code this process runs (glc.execute.plan_memo believes nothing remembered under such code)
IMPORTED_NS = _time.time_ns()

__all__ = ["__version__"]
