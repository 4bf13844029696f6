"""No worker lives on half dead: what ends one that can no longer work.

Faust keeps a worker up whatever dies inside it: an agent that raises is logged and
restarted (or, crashing again at once, left dead), a task or timer that raises is
logged and gone, and a fatal error of the consumer's group (a session timeout the
broker does not allow, a group id it refuses) is handed to a reader Faust never
calls. Each left a worker that answered its probes and processed nothing, and
exited 0 when stopped: no orchestrator could see it.

- ``guarded``: every agent, task and timer the worker registers runs through it. An
  exception that escapes one stops the worker with a documented exit code and one
  line naming it (``fail``); the crashed agent then waits for the stop, so that no
  later batch is read, let alone committed, after it.
- ``on_fatal_group_error`` (patch 13 of ``faust_compat``, on aiokafka's
  ``GroupCoordinator._push_error_to_user``): a fatal error of the group stops the
  worker with exit 78 and a line naming the setting to fix. aiokafka raises it to
  the consumer's ``getmany``, which Faust does not call (its fetcher reads the
  fetched records directly), so it was only ever logged.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from aiokafka import errors as aiokafka_errors
from aiokafka.consumer.group_coordinator import GroupCoordinator

from workers.errors import ExitCode

log = logging.getLogger(__name__)

Fail = Callable[[int, str], None]
F = TypeVar("F", bound=Callable[..., Coroutine[Any, Any, Any]])


def guarded(fn: F, name: str, fail: Fail) -> F:
    """``fn`` (an agent, task or timer), stopping the worker if an exception escapes
    it: ``fail(ExitCode.ERROR, ...)``, then wait for the stop. Cancellation (the
    stop itself) passes."""

    @functools.wraps(fn)
    async def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return await fn(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # whatever killed it, the worker stops
            log.error("%s crashed", name, exc_info=True)
            fail(ExitCode.ERROR, f"{name} crashed ({type(exc).__name__}: {exc})")
            await asyncio.Event().wait()  # until the stop cancels it: nothing more is read

    return run  # type: ignore[return-value]


#: Errors of the group that no retry cures, with the setting that causes each.
FATAL_GROUP_ERRORS: dict[type[BaseException], str] = {
    aiokafka_errors.InvalidSessionTimeoutError: (
        "the broker refuses the session timeout: ENRICH_SESSION_TIMEOUT_S is outside its "
        "group.min.session.timeout.ms and group.max.session.timeout.ms (6 s to 30 min "
        "by default)"
    ),
    aiokafka_errors.InvalidGroupIdError: "the broker refuses the group id: ENRICH_GROUP_ID",
    aiokafka_errors.InconsistentGroupProtocolError: (
        "the group's other members use another protocol: ENRICH_GROUP_ID names a group "
        "that is not this pipeline's"
    ),
    aiokafka_errors.GroupAuthorizationFailedError: (
        "the broker does not authorize this user for the group: ENRICH_GROUP_ID, or the user's ACLs"
    ),
    aiokafka_errors.TopicAuthorizationFailedError: (
        "the broker does not authorize this user for the topics: the ENRICH_TOPIC_* "
        "settings, or the user's ACLs"
    ),
}

_fatal: list[Fail] = []  # the worker of this process (one)
_patched = False


def on_fatal_group_error(fail: Fail) -> None:
    """Stop the worker through ``fail`` on a fatal group error (installs patch 13)."""
    global _patched  # noqa: PLW0603 - the patch is process-wide by nature
    _fatal[:] = [fail]
    if _patched:
        return
    original = GroupCoordinator._push_error_to_user

    async def push_error_to_user(self: Any, exc: BaseException) -> None:
        cause = next((v for k, v in FATAL_GROUP_ERRORS.items() if isinstance(exc, k)), None)
        if cause is not None and _fatal:
            _fatal[0](ExitCode.CONFIG, f"the consumer group cannot join: {cause} ({exc!r})")
        await original(self, exc)

    GroupCoordinator._push_error_to_user = push_error_to_user
    _patched = True


def check_version() -> str | None:
    """Why patch 13 cannot apply to the installed aiokafka, or None."""
    if not callable(getattr(GroupCoordinator, "_push_error_to_user", None)):
        return "aiokafka has no GroupCoordinator._push_error_to_user"
    return None
