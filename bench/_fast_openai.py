"""A deliberately minimal OpenAI Chat Completions server for benchmarks.

Canned answers, raw asyncio, keep-alive: it costs as little as possible so
the client's overhead is what the benchmarks see. The first call of a
conversation gets a ``get_weather`` tool call, a call carrying a tool result
gets the final answer (it looks for `tool_call_id`); a request with
``"stream": true`` gets the same answers as server-sent events, in small
deltas, with usage in the last chunk. Run as ``python bench/_fast_openai.py PORT``.
"""

from __future__ import annotations

import asyncio
import json
import os
import stat
import sys
import threading

TOOL_CALL = json.dumps(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 60, "completion_tokens": 12, "total_tokens": 72},
    }
).encode()

ANSWER = json.dumps(
    {
        "id": "chatcmpl-2",
        "object": "chat.completion",
        "created": 1700000000,
        "model": "gpt-4.1-mini",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "It is sunny in Paris, 21C."},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 90, "completion_tokens": 9, "total_tokens": 99},
    }
).encode()


def _sse(chunks: list[dict[str, object]]) -> bytes:
    events = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return events + b"data: [DONE]\n\n"


def _chunk(
    delta: dict[str, object], finish: str | None = None, **extra: object
) -> dict[str, object]:
    return {
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4.1-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


_CALL = {"index": 0, "id": "call_1", "type": "function"}
TOOL_CALL_STREAM = _sse(
    [
        _chunk({"role": "assistant", "content": None}),
        _chunk({"tool_calls": [{**_CALL, "function": {"name": "get_weather", "arguments": ""}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city":'}}]}),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        _chunk({}, "tool_calls"),
        {
            **_chunk({}),
            "choices": [],
            "usage": {"prompt_tokens": 60, "completion_tokens": 12, "total_tokens": 72},
        },
    ]
)
ANSWER_STREAM = _sse(
    [
        _chunk({"role": "assistant", "content": ""}),
        *(_chunk({"content": piece}) for piece in ("It is ", "sunny in ", "Paris, ", "21C.")),
        _chunk({}, "stop"),
        {
            **_chunk({}),
            "choices": [],
            "usage": {"prompt_tokens": 90, "completion_tokens": 9, "total_tokens": 99},
        },
    ]
)


def _streamed(body: bytes) -> bytes:
    head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
    return f"{head}content-length: {len(body)}\r\n\r\n".encode() + body


def _response(body: bytes) -> bytes:
    head = (
        f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            answered = b'"tool_call_id"' in body
            if b'"stream":true' in body or b'"stream": true' in body:
                writer.write(_streamed(ANSWER_STREAM if answered else TOOL_CALL_STREAM))
            else:
                writer.write(_response(ANSWER if answered else TOOL_CALL))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


def _exit_with_parent() -> None:
    # The bench that started this server holds the other end of its stdin pipe:
    # when the bench dies, even by a signal that skips its clean-up, the pipe
    # reads EOF and the server goes with it instead of keeping its port and CPU.
    sys.stdin.buffer.read()
    os._exit(0)


async def main(port: int) -> None:
    if stat.S_ISFIFO(os.fstat(sys.stdin.fileno()).st_mode):
        threading.Thread(target=_exit_with_parent, daemon=True).start()
    server = await asyncio.start_server(_handle, "127.0.0.1", port, backlog=2048)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
