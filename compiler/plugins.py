"""The runner registry as the compiler sees it: names and argument schemas, nothing heavier.

Runners are plugins: any installed distribution may declare one under the entry-point group
``glc.runners`` (glc's own are ``hf``, ``openai`` and ``command``). A runner class carries a
pydantic ``Args`` model; loading the entry point imports only the runner's module, which must
keep torch, transformers and HTTP clients out of its top level, so compiling stays cheap.
"""

from __future__ import annotations

import json
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


# What a route (runner and args) gives back (text, image, audio, video, pointcloud), by ``route_key``:
# learned when a compile validates the route (and kept in the compiled project), so that planning with
# a cached compile neither imports the runners nor validates their args again
_OUTPUTS: dict[str, frozenset[str]] = {}


def route_key(runner: str, args: dict[str, Any]) -> str:
    return json.dumps({"runner": runner, "args": args}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def route_outputs(runner: str, args: dict[str, Any]) -> frozenset[str]:
    """The output kinds the runner gives with these args; a runner that cannot load, or args it does
    not accept, count as text-only here (the compile's route check and the job say why)."""
    key = route_key(runner, args)
    if key not in _OUTPUTS:
        try:
            cls = runner_class(runner)
            _OUTPUTS[key] = frozenset(cls.produces(cls.Args.model_validate(args)))
        except Exception:  # noqa: BLE001 - reported by the route check at compile and when the job runs
            _OUTPUTS[key] = frozenset({"text"})
    return _OUTPUTS[key]


def known_outputs(outputs: dict[str, tuple[str, ...]]) -> None:
    """Outputs of routes a compile validated (``Project.route_outputs``)."""
    for key, kinds in outputs.items():
        _OUTPUTS.setdefault(key, frozenset(kinds))
