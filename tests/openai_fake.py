"""A scripted OpenAI-compatible server on loopback, for the remote backends' tests.

>>> with FakeServer(lambda request: Reply(json={"seen": request.path})) as server:
...     from rag.endpoints import Endpoint
...     Endpoint(server.url).get("/models")
{'seen': '/v1/models'}
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np


@dataclass
class Request:
    method: str
    path: str
    body: Any
    headers: dict[str, str]


@dataclass
class Reply:
    """What the server sends: ``json``, or server-sent ``events`` (strings that start with
    ":" go as comments; then ``[DONE]`` unless ``done`` is False), or ``raw`` bytes; after
    ``delay`` seconds, and for events ``pause`` seconds before each one."""

    status: int = 200
    json: Any = None
    events: Sequence[Any] | None = None
    done: bool = True
    raw: bytes | None = None
    delay: float = 0.0
    pause: float = 0.0


@dataclass
class FakeServer:
    handler: Callable[[Request], Reply]
    requests: list[Request] = field(default_factory=list)

    def __enter__(self) -> FakeServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve(None)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(json.loads(self.rfile.read(length) or b"null"))

            def _serve(self, body: Any) -> None:
                request = Request(self.command, self.path, body, dict(self.headers))
                server.requests.append(request)
                reply = server.handler(request)
                time.sleep(reply.delay)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(reply)  # unless the client gave up, as some tests want

            def _send(self, reply: Reply) -> None:
                if reply.events is None:
                    data = reply.raw if reply.raw is not None else json.dumps(reply.json).encode()
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                for event in reply.events:
                    time.sleep(reply.pause)
                    if isinstance(event, str) and event.startswith(":"):  # an SSE comment
                        self.wfile.write(f"{event}\n\n".encode())
                    else:
                        text = event if isinstance(event, str) else json.dumps(event)
                        self.wfile.write(f"data: {text}\n\n".encode())
                    self.wfile.flush()
                if reply.done:
                    self.wfile.write(b"data: [DONE]\n\n")
                self.close_connection = True

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]


def embeddings(vectors: np.ndarray) -> Reply:
    """An ``/embeddings`` reply holding ``vectors``."""
    data = [
        {"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(vectors)
    ]
    return Reply(json={"object": "list", "data": data, "model": "fake-e5"})


def completion(text: str, top: dict[str, float] | None = None) -> Reply:
    """A non-streamed chat completion of ``text``; ``top`` maps first-step tokens to their
    probabilities, sent as ``top_logprobs``."""
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}}
    if top is not None:
        entries = [{"token": t, "logprob": float(np.log(p))} for t, p in top.items()]
        choice["logprobs"] = {"content": [{"token": text, "top_logprobs": entries}]}
    return Reply(json={"choices": [choice], "usage": {"prompt_tokens": 42, "completion_tokens": 1}})


def chunks(text: str, **reply: Any) -> Reply:
    """A streamed chat completion of ``text``, one word per event."""
    words = [w + " " for w in text.split(" ")]
    words[-1] = words[-1][:-1]
    events = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    events += [{"choices": [{"index": 0, "delta": {"content": w}}]} for w in words]
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
    return Reply(events=events, **reply)
