"""The local model in a process of its own, so that a native crash ends one answer, not the app.

llama.cpp runs native kernels chosen for the CPU, and on some CPUs and builds they crash (a
segmentation fault in its AMX code on Intel Xeons: docs/runtime.md). In the process that serves
the chat, that would end every user's session. So the model runs in a child process started with
``python -m rag.worker``, spoken to over its stdin and stdout, one JSON object a line:

    child  -> {"ready": {...}}                 once the model is loaded, or {"error": "..."}
    parent -> {"op": "generate", "messages": [...], "max_tokens": 320, "temperature": 0.0,
               "seed": 0, "gate": {"marker": "NONE", "threshold": 0.05} or null}
    child  -> {"piece": "Eddie"} ... {"done": {"prompt_tokens": 852, ..., "prefix": "disk"}}
    parent -> {"op": "cancel"}                 during a generation: it ends early with "done"
    parent -> {"op": "count", "text": "..."}   -> {"done": {"tokens": 12}}
    parent -> {"op": "measure"}                -> {"done": {"prompt_tps": ..., "decode_tps": ...}}

Any failure of a request is an {"error": "..."} line, and the child goes on serving. The child
ends when its stdin closes, so it never outlives the parent. ``python -m rag.worker probe``
loads the model, prints one line (``LlamaEngine.probe``) and exits: rag.runtime's test of a
configuration.

The engine is named as ``module:callable`` with its keyword arguments in JSON (by default
``rag.llama:LlamaEngine``), so tests run this protocol on fakes, crashing ones included.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import faulthandler
import importlib
import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Generator
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from .errors import ModelCrashed, ModelError
from .gate import Gate

log = logging.getLogger("rag")

DEFAULT_ENGINE = "rag.llama:LlamaEngine"
# The signals a fault of native code raises (a kill from outside, SIGKILL or SIGTERM, is not one).
_NATIVE_FAULTS = {
    int(getattr(signal, name))
    for name in ("SIGSEGV", "SIGILL", "SIGBUS", "SIGFPE", "SIGABRT")
    if hasattr(signal, name)
}


def describe_exit(code: int | None) -> str:
    """A process's exit status in words.

    >>> describe_exit(-11), describe_exit(3)
    ('was killed by SIGSEGV (segmentation fault)', 'exited with status 3')
    """
    if code is None:
        return "still running"
    if code >= 0:
        return f"exited with status {code}"
    try:
        sig = signal.Signals(-code)
    except ValueError:
        return f"was killed by signal {-code}"
    what = signal.strsignal(sig) or ""
    return f"was killed by {sig.name}" + (f" ({what.lower()})" if what else "")


def last_words(lines: list[str] | tuple[str, ...]) -> str:
    """What a dead model process said that tells why: the line where Python's faulthandler or
    llama.cpp names the fault, else its last line.

    >>> last_words(["Fatal Python error: Segmentation fault", "", '  File "x.py", line 3'])
    'Fatal Python error: Segmentation fault'
    """
    for line in lines:
        if "Fatal Python error" in line or "GGML_ASSERT" in line or "error:" in line.lower():
            return line.strip()[:300]
    said = [line.strip() for line in lines if line.strip()]
    return said[-1][:300] if said else ""


def child_env() -> dict[str, str]:
    """The environment of a model process: this one's, with this package importable there
    even when it runs from a checkout rather than an installation."""
    root = str(Path(__file__).resolve().parent.parent)
    paths = [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}


class ModelProcess:
    """The parent's side: start ``python -m rag.worker serve``, wait for its model, send
    requests and read their replies. A death of the child raises ModelCrashed, with the exit
    status and the last lines it wrote on stderr; ``alive`` then turns False, and the owner
    starts a new one."""

    def __init__(self, options: dict[str, Any], *, engine: str = DEFAULT_ENGINE) -> None:
        command = [sys.executable, "-m", "rag.worker", "serve", "--engine", engine]
        self._child = subprocess.Popen(
            [*command, "--options", json.dumps(options)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=child_env(),
        )
        self.stderr: collections.deque[str] = collections.deque(maxlen=25)
        self._draining = threading.Thread(target=self._drain_stderr, daemon=True)
        self._draining.start()
        self.info: dict[str, Any] = {}

    def _drain_stderr(self) -> None:
        assert self._child.stderr is not None
        for raw in self._child.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                self.stderr.append(line)
                log.debug("model process: %s", line)

    @property
    def alive(self) -> bool:
        return self._child.poll() is None

    def wait_ready(self) -> dict[str, Any]:
        """The child's ``ready`` message, once its model is loaded."""
        message = self._read("loading the model")
        if "error" in message:
            self.close()
            raise ModelError(str(message["error"]))
        self.info = dict(message.get("ready") or {})
        return self.info

    def call(self, request: dict[str, Any]) -> Generator[dict[str, Any], None, None]:
        """Send ``request``; yield the child's replies up to and including ``done``. Closing
        the iterator early cancels the request and waits for the child to stop."""
        self._send(request)
        finished = False
        try:
            while True:
                message = self._read("answering")
                if "error" in message:
                    finished = True
                    raise ModelError(f"The local model failed: {message['error']}")
                finished = "done" in message
                yield message
                if finished:
                    return
        finally:
            if not finished and self.alive:
                self._send({"op": "cancel"})
                while "done" not in (m := self._read("stopping")) and "error" not in m:
                    pass

    def close(self) -> None:
        if self._child.stdin is not None and not self._child.stdin.closed:
            with contextlib.suppress(OSError):
                self._child.stdin.close()  # the child ends when its input does
        try:
            self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            self._child.wait()

    def _send(self, message: dict[str, Any]) -> None:
        assert self._child.stdin is not None
        try:
            self._child.stdin.write(json.dumps(message).encode() + b"\n")
            self._child.stdin.flush()
        except OSError:
            raise self._crashed("receiving a request") from None

    def _read(self, doing: str) -> dict[str, Any]:
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            raise self._crashed(doing)
        message = json.loads(line)
        if not isinstance(message, dict):
            raise ModelError(f"The model process sent something unexpected: {line[:200]!r}")
        return message

    def _crashed(self, doing: str) -> ModelCrashed:
        try:
            code = self._child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._child.kill()
            code = self._child.wait()
        self._draining.join(timeout=2)  # its last lines: stderr closes as the child ends
        status = describe_exit(code)
        crash = ModelCrashed(f"The local model's process {status} while {doing}")
        crash.status, crash.last_words = status, tuple(self.stderr)
        crash.native = code is not None and -code in _NATIVE_FAULTS
        return crash


# -- the child's side -----------------------------------------------------------------------
def build_engine(engine: str, options: dict[str, Any]) -> Any:
    module, _, name = engine.partition(":")
    factory: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return factory(**options)


def serve(engine: str, options: dict[str, Any], out: IO[str]) -> int:
    """Load the engine, say ready, then answer requests from stdin until it closes."""

    def send(message: dict[str, Any]) -> None:
        out.write(json.dumps(message, ensure_ascii=False) + "\n")
        out.flush()

    try:
        model = build_engine(engine, options)
    except Exception as exc:  # sent to the parent, which raises it there
        send({"error": f"{exc}" if isinstance(exc, ModelError) else f"{type(exc).__name__}: {exc}"})
        return 1
    send({"ready": model.info()})
    requests: queue.Queue[dict[str, Any] | None] = queue.Queue()
    cancel = threading.Event()

    def listen() -> None:
        for line in sys.stdin:
            message = json.loads(line)
            if message.get("op") == "cancel":
                cancel.set()
            else:
                requests.put(message)
        requests.put(None)

    threading.Thread(target=listen, daemon=True).start()
    while (request := requests.get()) is not None:
        cancel.clear()
        try:
            send({"done": _handle(model, request, send, cancel.is_set)})
        except Exception as exc:  # one failed request; the model stays loaded
            send({"error": f"{type(exc).__name__}: {exc}"})
    return 0


def _handle(
    model: Any,
    request: dict[str, Any],
    send: Callable[[dict[str, Any]], None],
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    op = request.get("op")
    if op == "generate":
        gate = request.get("gate")
        for piece in model.stream(
            request["messages"],
            max_tokens=int(request.get("max_tokens", 320)),
            temperature=float(request.get("temperature", 0.0)),
            seed=int(request.get("seed", 0)),
            gate=Gate(**gate) if gate else None,
            cancelled=cancelled,
        ):
            send({"piece": piece})
        return asdict(model.usage)
    if op == "count":
        return {"tokens": int(model.count_tokens(str(request["text"])))}
    if op == "measure":
        return dict(model.measure())
    raise ValueError(f"unknown request {op!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag.worker", description=__doc__)
    parser.add_argument("mode", choices=["serve", "probe"])
    parser.add_argument("--engine", default=DEFAULT_ENGINE)
    parser.add_argument("--options", default="{}", help="the engine's keyword arguments, JSON")
    args = parser.parse_args(argv)
    # The protocol gets the real stdout; anything native code prints goes to stderr instead.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    faulthandler.enable()  # a native crash leaves its Python stack on stderr, for the parent
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    options = json.loads(args.options)
    if args.mode == "serve":
        return serve(args.engine, options, out)
    try:
        result = build_engine(args.engine, options).probe()
    except Exception as exc:
        result = {"error": f"{type(exc).__name__}: {exc}"}
    out.write(json.dumps(result) + "\n")
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
