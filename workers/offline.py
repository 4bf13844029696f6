"""The pipeline over a stream of messages with no broker, in one process or several.

``run_offline`` yields (dead, value) per input message, in input order, whatever
the number of processes: batches go to a pool of processes, each with its own
pipeline (and model), and come back in the order they were sent. The records
are the same as one process gives, but for their timestamps.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import chain
from multiprocessing.pool import AsyncResult

from workers import stage_table
from workers.codec import Message
from workers.loading import build_pipeline
from workers.pipeline import Dead, Pipeline, batched
from workers.settings import Settings
from workers.stories.state import grouped

Result = tuple[bool, bytes]  # (dead-lettered, the record's bytes)

_pipeline: Pipeline | None = None  # one per worker process


def _start(settings: Settings) -> None:
    global _pipeline  # noqa: PLW0603 - the process's pipeline, built once
    # a process started for a pool gets the settings unpickled, their validators not
    # run again: the plugins' stages join its table here
    stage_table.load_plugins(settings.plugins)
    _pipeline = build_pipeline(settings)
    _pipeline.warm()


def _run(batch: list[Message]) -> list[Result]:
    assert _pipeline is not None, "worker process not started"  # noqa: S101
    return [(isinstance(o, Dead), o.value) for o in _pipeline.run(batch)]


def run_offline(
    settings: Settings, messages: Iterable[Message], *, processes: int = 1
) -> Iterator[Result]:
    """(dead, value) for each message, in order, through all three stages, and
    grouped into stories in that order when ``settings.stories`` is on."""
    results = _enriched(settings, messages, processes)
    if settings.stories:
        return grouped(results, settings.story_threshold)
    return results


def _enriched(settings: Settings, messages: Iterable[Message], processes: int) -> Iterator[Result]:
    settings = settings.model_copy(update={"stages": ""})  # every stage of the table
    batches = batched(messages, settings.batch_size)
    first = next(batches, None)
    if first is None:
        return
    second = next(batches, None)
    if processes <= 1 or second is None:  # one batch: not worth starting processes
        _start(settings)
        for batch in chain([first], [second] if second else [], batches):
            yield from _run(batch)
        return
    context = multiprocessing.get_context("spawn")  # a fresh interpreter: no forked threads
    with context.Pool(processes, initializer=_start, initargs=(settings,)) as pool:
        # at most two batches per process in flight: memory stays bounded on any input
        pending: deque[AsyncResult[list[Result]]] = deque()
        for batch in chain([first, second], batches):
            pending.append(pool.apply_async(_run, (batch,)))
            if len(pending) >= 2 * processes:
                yield from pending.popleft().get()
        while pending:
            yield from pending.popleft().get()
