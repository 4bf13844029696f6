"""Faust's send buffer, where table writes wait (workers.stream.seam.send_buffer),
tested on Faust's own objects (no broker). Each test fails without its patch."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any, cast

import pytest
from faust.exceptions import ProducerSendError

from workers.settings import Settings
from workers.stream.seam import send_buffer
from workers.stream.worker.process import create_app


async def test_producer_flush_waits_for_every_buffered_write() -> None:
    """Faust flushes its send buffer before it commits offsets; its flush gave up
    once no message left the buffer for 0.1 s, and the commit went ahead with
    table writes unsent (patch 6)."""
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    producer: Any = app.producer
    buffer = producer.buffer
    sent: list[str] = []

    async def slow_send(fut: Any) -> None:  # a client whose send queue is full
        await asyncio.sleep(0.3)
        sent.append(fut.key)
        fut.set_result(None)

    buffer._send_pending = slow_send
    writes: list[Any] = [asyncio.get_running_loop().create_future() for _ in range(3)]
    for i, fut in enumerate(writes):
        fut.key = f"w{i}"
        buffer.put(fut)
    sender = asyncio.create_task(drain(buffer))
    try:
        await asyncio.wait_for(buffer.flush(), timeout=5)
        assert sent == ["w0", "w1", "w2"]
        assert all(f.done() for f in writes)
    finally:
        sender.cancel()


async def drain(buffer: Any) -> None:
    """Faust's sender task for the buffer (``_handle_pending``), without the Service."""
    while True:
        fut = await buffer.pending.get()
        await buffer._send_pending(fut)
        buffer.message_sent.set()


class _Channel:
    """A topic whose producer cannot take a record ``failures`` times (a frozen
    leader: aiokafka's send queue stays full for its request timeout)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[Any] = []

    async def publish_message(self, fut: Any, wait: bool = False) -> None:
        if self.failures:
            self.failures -= 1
            raise ProducerSendError("Error while sending: KafkaTimeoutError()")
        self.sent.append(fut)


@pytest.mark.parametrize("deadline_s", [30.0, 0.0])
async def test_a_table_write_that_failed_is_retried_until_the_produce_deadline(
    deadline_s: float,
) -> None:
    """A table write the producer could not take crashed Faust's send buffer, and
    the worker with it (patch 18); it is retried within ENRICH_PRODUCE_DEADLINE_S,
    and past it fails as before."""
    settings = Settings(broker="127.0.0.1:9", stages="clean", produce_deadline_s=30)
    app = create_app(settings)
    buffer: Any = cast(Any, app.producer).buffer
    channel = _Channel(failures=2)
    fut = SimpleNamespace(message=SimpleNamespace(channel=channel))
    if deadline_s:
        await asyncio.wait_for(buffer._send_pending(fut), timeout=10)
        assert channel.sent == [fut]
        return
    send_buffer.set_send_deadline(app, deadline_s)  # none: Faust's own behaviour
    with pytest.raises(ProducerSendError):
        await buffer._send_pending(fut)
    assert channel.sent == []


async def test_a_table_write_is_waited_out_while_the_cluster_is_away() -> None:
    """A lost quorum (two of three nodes down for a minute) failed table writes past
    ENRICH_PRODUCE_DEADLINE_S, and the worker crashed (exit 1) while the broker-lost
    exit was still far off. While the worker's hook says the cluster is away, the
    deadline is counted anew; each failure is reported, and the write that went
    through clears it."""
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean", produce_deadline_s=30))
    send_buffer.set_send_deadline(app, 0.3)
    reported: list[str | None] = []
    given_up: list[BaseException] = []
    send_buffer.set_send_hooks(
        app,
        excused=lambda: True,
        trouble=lambda error: reported.append(None if error is None else type(error).__name__),
        give_up=given_up.append,
    )
    buffer: Any = cast(Any, app.producer).buffer
    channel = _Channel(failures=6)  # 0.1 + 0.2 + 0.4 + ... s: well past 0.3 s
    fut = SimpleNamespace(message=SimpleNamespace(channel=channel))
    await asyncio.wait_for(buffer._send_pending(fut), timeout=20)
    assert channel.sent == [fut]
    assert reported == ["ProducerSendError"] * 6 + [None]
    assert given_up == []


async def test_a_table_write_past_the_deadline_is_given_up_by_the_worker() -> None:
    """Past the deadline, with the cluster not away, the worker's hook decides (it
    exits 75, as for its other output) before the error would crash the buffer."""
    app = create_app(Settings(broker="127.0.0.1:9", stages="clean"))
    send_buffer.set_send_deadline(app, 0.2)
    given_up: list[BaseException] = []
    send_buffer.set_send_hooks(
        app, excused=lambda: False, trouble=lambda _: None, give_up=given_up.append
    )
    buffer: Any = cast(Any, app.producer).buffer
    fut = SimpleNamespace(message=SimpleNamespace(channel=_Channel(failures=100)))
    with pytest.raises(ProducerSendError):
        await asyncio.wait_for(buffer._send_pending(fut), timeout=10)
    assert [type(e) for e in given_up] == [ProducerSendError]
