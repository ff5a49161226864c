"""Local runners (``hf``, ``command``) on a Ray cluster: ``runner_backend: ray`` in profiles.yml.

A job's requests are cut into batches; each batch goes to one of ``workers`` Ray actors, and each
actor builds the job's runner once and keeps it (a model stays loaded across batches). Results come
back to the one process that writes the store, batch by batch, as they finish -- content keys,
commits, resume after ``kill -9`` and progress are those of a local run. An actor that dies (its
worker process killed, its node lost) is restarted by Ray and its batch is run again, at most
``max_retries`` times; a batch that still fails fails its instances with the reason.

Workers must see the project (and its data roots) at the same paths: on one machine they do; on a
cluster, use a shared filesystem. ``address`` is a running cluster's (``ray start --head`` prints
it); without one, glc starts a local cluster for the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glc.runners.base import Request, Result, Runner, RunnerArgs, RunnerError, error_text


@dataclass(frozen=True)
class RaySettings:
    address: str | None = None  # None: a local cluster started for the run
    workers: int = 4
    batch_size: int = 8
    max_retries: int = 2
    num_cpus: float = 1.0  # per actor: what Ray reserves for each


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RunnerError("runner_backend: ray needs the ray package: pip install 'glc[ray]' "
                          "(or pip install ray)") from None
    return ray


def ensure_ray(settings: RaySettings) -> Any:
    """Ray, connected to the cluster of ``settings`` (started locally when it names none)."""
    ray = _ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                  "configure_logging": False}
        if settings.address:
            ray.init(address=settings.address, **kwargs)
        else:
            ray.init(num_cpus=max(1, int(settings.workers * settings.num_cpus)), **kwargs)
    return ray


class RayRunner(Runner):
    """Runs another runner's requests on Ray actors; the interface of any runner."""

    def __init__(self, make: Callable[[], Runner], label: str, settings: RaySettings) -> None:
        super().__init__(RunnerArgs(), Path("."))
        self.make = make
        self.label = label
        self.settings = settings
        self._actors: list[Any] = []
        self._version = "unknown"

    def version(self) -> str:
        if not self._actors:
            self._start()  # the version is the runner's on the workers
        return self._version

    def _start(self) -> None:
        ray = ensure_ray(self.settings)

        @ray.remote(max_restarts=self.settings.max_retries, max_task_retries=self.settings.max_retries)
        class Worker:
            def __init__(self, make: Callable[[], Runner]) -> None:
                self.runner = make()

            def version(self) -> str:
                return self.runner.version()

            def run(self, batch: list[Request]) -> list[tuple[Request, Result]]:
                return list(self.runner.run(batch))

            def close(self) -> None:
                self.runner.close()

        opts = {"num_cpus": self.settings.num_cpus}
        self._actors = [Worker.options(**opts).remote(self.make)  # type: ignore[attr-defined]
                        for _ in range(self.settings.workers)]
        try:
            self._version = ray.get(self._actors[0].version.remote()) + " (ray)"
        except Exception as exc:  # noqa: BLE001 - the runner could not be built on the worker
            raise RunnerError(f"{self.label}: the runner cannot start on a Ray worker: {error_text(exc)}") from None

    def run(self, requests: Sequence[Request]) -> Iterator[tuple[Request, Result]]:
        if not requests:
            return
        ray = _ray()
        if not self._actors:
            self._start()
        size = self.settings.batch_size
        batches = [list(requests[i:i + size]) for i in range(0, len(requests), size)]
        free = list(self._actors)
        running: dict[Any, tuple[Any, list[Request]]] = {}
        todo = iter(batches)
        for actor in free[:]:
            batch = next(todo, None)
            if batch is None:
                break
            free.remove(actor)
            running[actor.run.remote(batch)] = (actor, batch)
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            ref = done[0]
            actor, batch = running.pop(ref)
            try:
                results = ray.get(ref)
            except Exception as exc:  # noqa: BLE001 - the worker died past its retries, or the runner raised
                reason = f"failed on a Ray worker: {error_text(exc).splitlines()[0][:300]}"
                results = [(req, Result(None, reason)) for req in batch]
            yield from results
            nxt = next(todo, None)
            if nxt is not None:
                running[actor.run.remote(nxt)] = (actor, nxt)

    def close(self) -> None:
        if not self._actors:
            return
        ray = _ray()
        for actor in self._actors:
            try:
                ray.get(actor.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001, S110 - a dead actor has nothing to close
                pass
            ray.kill(actor)
        self._actors = []
