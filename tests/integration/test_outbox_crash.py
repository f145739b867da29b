"""The outbox under a real crash: intake is SIGKILLed after the commit, while its publish is stuck.

NATS is frozen (SIGSTOP) so the relay's publish cannot complete; the declaration is committed and
answered 202; intake is killed; NATS resumes; a new intake starts. The event must go out, once:
either the dead process's bytes still reach NATS and the new relay's copy is dropped by
`Nats-Msg-Id`, or only the new relay's copy arrives.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx

from contracts import subjects
from tests.conftest import SECRET, token
from tests.e2e.stack import declaration
from tests.support.servers import Nats, free_port, start_intake
from tests.support.streams import stream_messages


def test_killed_between_commit_and_publish_the_event_still_goes_out_once(nats: Nats, tmp_path: Path) -> None:
    assert nats.proc is not None
    port = free_port()
    first = start_intake(nats.url, SECRET, tmp_path, port)
    decl = declaration(3)
    headers = {"Authorization": f"Bearer {token('enterprise', str(decl['uscc']))}"}
    os.kill(nats.proc.pid, signal.SIGSTOP)  # the relay's publish now waits for an ack that cannot come
    try:
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/declarations", json=decl, headers=headers, timeout=10)
        assert answer.status_code == 202, answer.text
        time.sleep(0.5)  # the relay has picked the row up and is stuck publishing it
        first.kill()
        first.wait()
    finally:
        os.kill(nats.proc.pid, signal.SIGCONT)
    second = start_intake(nats.url, SECRET, tmp_path, port)
    try:
        events = asyncio.run(stream_messages(nats.url, subjects.SUBMISSIONS.name, at_least=1, timeout=20))
        time.sleep(1.5)  # give a duplicate every chance to arrive
        events = asyncio.run(stream_messages(nats.url, subjects.SUBMISSIONS.name))
    finally:
        second.terminate()
        second.wait(20)
    assert [e["submission_id"] for e in events] == [answer.json()["id"]]
