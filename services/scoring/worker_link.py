"""One engine worker process and the caller's end of the socket it is talked to over, read by the event loop.

Frames both ways are a 4-byte length and a pickle. The caller sends a batch of calls in one frame and the worker
answers the batch in one frame, in order; the caller's end is non-blocking and read by the event loop itself
(``loop.add_reader``), so a call costs the caller one share of a pickle each way and one wake-up per batch: no
executor threads, no call queue, no thread-safe wake-ups of the loop. The worker keeps whatever it has not yet read
in the socket, so the caller can send its next batch while the worker works on the one before.

The link knows nothing of what a call is: it hands each answered batch, and on the worker's death every batch it
had not answered, back to its owner (services/scoring/worker.py's EnginePool), which settles or retries them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import multiprocessing
import pickle
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import Any, BinaryIO

log = logging.getLogger(__name__)

HEADER = struct.Struct("<I")
# The receive buffer's first size (it grows to the longest frame): 16 green-factory answers are 540 kB.
CHUNK = 1 << 20
# Socket buffers asked for (the kernel may give less): room for a batch each way without a partial write.
BUFFER = 1 << 20


def frame(value: Any) -> bytes:
    """``value`` as one frame: its pickle behind its length (written into one buffer, not joined after)."""
    out = io.BytesIO()
    out.write(b"\0\0\0\0")
    pickle.dump(value, out, protocol=pickle.HIGHEST_PROTOCOL)
    data = out.getbuffer()
    HEADER.pack_into(data, 0, len(data) - HEADER.size)
    del data
    return out.getvalue()


def read_frame(reader: BinaryIO) -> Any:
    """In the worker (blocking): the next frame's value, or ``EOFError`` when the caller has closed its end."""
    head = reader.read(HEADER.size)
    if len(head) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(head)
    body = reader.read(size)
    if len(body) < size:
        raise EOFError
    return pickle.loads(body)  # noqa: S301 - written by the process that started this one


def socket_pair() -> tuple[socket.socket, socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    for end in (ours, theirs):
        with contextlib.suppress(OSError):
            end.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, BUFFER)
            end.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, BUFFER)
    return ours, theirs


Batch = list[Any]


class WorkerLink:
    """A started worker process (``target(its_socket, *args)``) and our end of its socket.

    ``on_answers(link, batch, answers)`` is called for each answered batch, in the order they were sent;
    ``on_death(link, unanswered)`` when the worker is gone (died, killed, or its socket broke), with every batch it
    had not answered (again for a batch sent to it after that). Both run on the event loop's thread.
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        target: Callable[..., None],
        args: tuple[Any, ...],
        on_answers: Callable[[WorkerLink, Batch, list[Any]], None],
        on_death: Callable[[WorkerLink, list[Batch]], None],
        name: str,
    ) -> None:
        self.loop = loop
        self._on_answers = on_answers
        self._on_death = on_death
        self.sent: deque[Batch] = deque()  # sent, not yet answered, oldest first
        self.outstanding = 0  # calls in ``sent``
        self.dead = False
        self.ready: asyncio.Future[int] = loop.create_future()  # the worker's pid, once its rules are loaded
        self._inbox = bytearray(CHUNK)
        self._have = 0  # bytes of ``_inbox`` read and not yet taken
        self._outbox = bytearray()
        ours, theirs = socket_pair()
        # Concurrency hazard: PR_SET_PDEATHSIG (worker.die_with_parent) fires when the *thread* that started the
        # worker exits, so links are made on the event loop's thread only, which lives as long as the service.
        self.process = multiprocessing.get_context("spawn").Process(
            target=target, args=(theirs, *args), name=name, daemon=True
        )
        try:
            self.process.start()
        finally:
            theirs.close()  # else our copy keeps the socket open and a dead worker is never seen to die
        ours.setblocking(False)
        self._sock = ours
        loop.add_reader(ours.fileno(), self._readable)

    @property
    def was_ready(self) -> bool:
        """Whether the worker had loaded its rules (said so) before it died."""
        return self.ready.done() and not self.ready.cancelled() and self.ready.exception() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def send(self, batch: Batch, calls: list[tuple[Any, tuple[Any, ...]]]) -> None:
        """Send ``calls`` (function, arguments) to the worker; ``batch`` is what their answers are handed back with.

        Raises what pickling them raised (nothing is sent then). The calls travel as a pickle inside the frame's,
        with their number beside it: a worker that cannot read them (a function it cannot import) answers each
        of them with why, instead of dying on it."""
        data = frame((len(calls), pickle.dumps(calls, protocol=pickle.HIGHEST_PROTOCOL)))
        self.sent.append(batch)
        self.outstanding += len(batch)
        if self.dead:  # never sent: handed back as unanswered
            self.loop.call_soon(self._hand_back)
            return
        if self._outbox:
            self._outbox += data
            return
        try:
            sent = self._sock.send(data)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._die()
            return
        if sent < len(data):
            self._outbox += memoryview(data)[sent:]
            self.loop.add_writer(self._sock.fileno(), self._writable)

    def _writable(self) -> None:
        try:
            sent = self._sock.send(self._outbox)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._die()
            return
        del self._outbox[:sent]
        if not self._outbox:
            self.loop.remove_writer(self._sock.fileno())

    def _readable(self) -> None:
        # Into one buffer kept for the link's life: a bytearray grown by each read and cut by each frame, or a new
        # bytes per read, costs the allocator fresh pages for every batch (up to 1.4 ms per green-factory batch).
        while True:
            if self._have == len(self._inbox):
                self._inbox.extend(bytes(len(self._inbox)))  # a frame longer than the buffer: twice as long
            try:
                with memoryview(self._inbox) as view:
                    got = self._sock.recv_into(view[self._have :])
            except (BlockingIOError, InterruptedError):
                break
            except OSError:
                got = 0
            if not got:
                self._frames()
                self._die()
                return
            self._have += got
            if self._have < len(self._inbox):
                break
        self._frames()

    def _frames(self) -> None:
        inbox, start = self._inbox, 0
        while self._have - start >= HEADER.size:
            (size,) = HEADER.unpack_from(inbox, start)
            end = start + HEADER.size + size
            if self._have < end:
                if end - start > len(inbox):  # room for the whole frame, so that it is read in one go
                    inbox.extend(bytes(end - start - len(inbox)))
                break
            with memoryview(inbox) as view:
                value = pickle.loads(view[start + HEADER.size : end])  # noqa: S301 - our own worker's answer
            start = end
            self._answered(value)
            if self.dead:
                return
        if start:  # the start of the next frame, if any, to the front
            inbox[: self._have - start] = inbox[start : self._have]
            self._have -= start

    def _answered(self, value: Any) -> None:
        if not self.ready.done():  # its first frame: the worker's pid, its rules loaded
            self.ready.set_result(value)
            return
        batch = self.sent.popleft()
        self.outstanding -= len(batch)
        self._on_answers(self, batch, value)

    def _die(self) -> None:
        """The worker is gone (or unusable): stop reading, make sure it is dead, hand back what it had not answered."""
        if self.dead:
            return
        self.dead = True
        self._unregister()
        if self.process.is_alive():
            self.process.kill()
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"the engine worker exited while starting ({self._exit()})"))
            self.ready.exception()  # retrieved: a warm-up may not be waiting for it
        # Told on the loop's next turn, not from inside send() or a read: the owner may be sharing out calls.
        self.loop.call_soon(self._hand_back)

    def _hand_back(self) -> None:
        unanswered = list(self.sent)
        self.sent.clear()
        self.outstanding = 0
        self._on_death(self, unanswered)

    def _exit(self) -> str:
        self.process.join(0.5)
        code = self.process.exitcode
        return "still running" if code is None else f"exit code {code}"

    def _unregister(self) -> None:
        if self._sock.fileno() >= 0:
            with contextlib.suppress(Exception):  # the loop may be closed already (a pool closed after its loop)
                self.loop.remove_reader(self._sock.fileno())
                self.loop.remove_writer(self._sock.fileno())
            self._sock.close()

    def hang_up(self) -> None:
        """Close our end: the worker sees it once it has answered what it is working on, and exits. Batches it had
        not answered are dropped (the owner fails their calls first, or has none left)."""
        self.dead = True
        self.sent.clear()
        self.outstanding = 0
        self._unregister()
        if not self.ready.done() and not self.loop.is_closed():
            self.ready.cancel()

    def close(self, wait: float = 1.0) -> None:
        """Hang up, and kill the worker if it has not exited within ``wait`` seconds (nobody reads its answer)."""
        self.hang_up()
        self.process.join(wait)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
