"""The entries glc keeps in the user's cache folder (``~/.cache/glc/<kind>/<hash>.json``), bounded.

Each kind of entry (a compiled project, a compile's node cache, the note of the artifacts a target
holds) is one file per project folder. A project folder that is gone (a temporary copy, a moved
checkout) left its entry behind for good: on a machine that makes many project folders the folder
grew without end (thousands of entries, gigabytes). Now an entry read with success is marked used
(its modification time set to now), and a write keeps the ``KEEP`` entries of its kind used last,
removing the others; a removed entry only means one more full compile, should its project come back.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

KEEP = 128  # entries per kind: a compiled catalog project is about 1.3 MB, its node cache 0.6 MB


def mark_used(path: Path) -> None:
    """Note that the entry at ``path`` served a command (what ``keep_newest`` keeps by)."""
    try:
        os.utime(path)
    except OSError:
        pass


def keep_newest(folder: Path, keep: int = KEEP) -> int:
    """Remove all but the ``keep`` entries of ``folder`` used or written last, and temporary files
    left by a write that stopped (older than a minute); how many went. Only glc's own names
    (``<20 hex>.json``, ``<20 hex>.json.<pid>.tmp``) are touched; a file another process removed
    first is no error."""
    try:
        with os.scandir(folder) as it:
            found = [(e.stat(follow_symlinks=False).st_mtime_ns, e.name) for e in it
                     if e.is_file(follow_symlinks=False) and _ours(e.name)]
    except OSError:
        return 0
    entries = sorted((f for f in found if f[1].endswith(".json")), reverse=True)
    stale = time.time_ns() - 60 * 10**9
    gone = [name for _, name in entries[keep:]] + [name for t, name in found if name.endswith(".tmp") and t < stale]
    removed = 0
    for name in gone:
        try:
            os.unlink(folder / name)
            removed += 1
        except OSError:
            pass
    return removed


def _ours(name: str) -> bool:
    stem, _, rest = name.partition(".")
    return (len(stem) == 20 and all(c in "0123456789abcdef" for c in stem)
            and (rest == "json" or (rest.startswith("json.") and rest.endswith(".tmp"))))
