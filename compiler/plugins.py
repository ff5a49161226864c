"""The runner registry as the compiler sees it: names and argument schemas, nothing heavier.

Runners are plugins: any installed distribution may declare one under the entry-point group
``glc.runners`` (glc's own are ``hf``, ``openai`` and ``command``). A runner class carries a
pydantic ``Args`` model; loading the entry point imports only the runner's module, which must
keep torch, transformers and HTTP clients out of its top level, so compiling stays cheap.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel

GROUP = "glc.runners"
# glc's own runners, used when the package metadata is not installed (e.g. a source checkout)
BUILTIN = {"hf": "glc.runners.hf:HFRunner", "openai": "glc.runners.openai:OpenAIRunner",
           "command": "glc.runners.command:CommandRunner"}


def _load(target: str) -> Any:
    module, _, attr = target.partition(":")
    obj: Any = __import__(module, fromlist=[attr])
    return getattr(obj, attr)


@cache
def runner_targets() -> dict[str, str]:
    found = dict(BUILTIN)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def runner_class(name: str) -> Any:
    """The runner class registered as ``name``; KeyError when there is none."""
    return _load(runner_targets()[name])


def runner_args_schema(name: str) -> type[BaseModel]:
    return runner_class(name).Args
