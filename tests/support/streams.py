"""Reading what a JetStream stream holds, for assertions."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats as nats_py


async def stream_messages(url: str, stream: str, at_least: int = 0, timeout: float = 30) -> list[dict[str, Any]]:
    """Every message of ``stream`` as JSON, once it holds ``at_least`` (and a moment for any duplicate to land)."""
    nc = await nats_py.connect(url)
    js = nc.jetstream()
    try:
        if at_least:
            deadline = asyncio.get_running_loop().time() + timeout
            while (await js.stream_info(stream)).state.messages < at_least:
                assert asyncio.get_running_loop().time() < deadline, f"{stream} holds fewer than {at_least} messages"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)
        info = await js.stream_info(stream)
        if not info.state.messages:
            return []
        return [
            json.loads((await js.get_msg(stream, seq)).data or b"")
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await nc.close()
