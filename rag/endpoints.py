"""A small client for OpenAI-compatible servers: JSON requests and server-sent event streams,
with a timeout, bounded retries, and errors that name the URL.

The standard library's urllib is enough here, so the remote backends add no dependency.

>>> e = Endpoint("http://localhost:8000/v1/")
>>> e.url("/embeddings"), e.root
('http://localhost:8000/v1/embeddings', 'http://localhost:8000')
"""

from __future__ import annotations

import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from .errors import ModelError, ServerError

log = logging.getLogger("rag")

# Statuses worth another try: the server is busy, starting, or restarting.
RETRYABLE = frozenset({408, 425, 429, 500, 502, 503, 504})
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}
T = TypeVar("T")


class Endpoint:
    """One server's base URL (``http://host:port/v1``), with how long to wait for it and how
    often to try again. ``timeout`` bounds every wait for the server's next bytes, so a stalled
    server fails after it rather than hanging; ``retries`` more tries follow a refused
    connection, a timeout or a busy status, with a growing pause, but never once part of a
    streamed reply was given out."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str = "",
        timeout: float = 60.0,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ModelError(
                f"{base_url!r} is not a server URL: give one like http://localhost:8000/v1"
            )
        self.base_url = base_url.strip().rstrip("/")
        self.api_key, self.timeout, self.retries, self.backoff = api_key, timeout, retries, backoff
        # A proxy from the environment must not catch requests to this machine itself.
        host = parts.hostname or ""
        proxies: dict[str, str] | None = (
            {} if host in _LOOPBACK or host.startswith("127.") else None
        )
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler(proxies))

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def root(self) -> str:
        """The server's root, where non-OpenAI routes (``/tokenize``, ``/health``) live."""
        return self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url

    def first_model(self) -> str:
        """The first model the server lists (``/models``): for a spec that names none."""
        url = self.url("/models")
        try:
            return str(self.get("/models")["data"][0]["id"])
        except (KeyError, IndexError, TypeError) as exc:
            raise ServerError(f"{url} lists no model: name one, as in 'openai:<model>'") from exc

    def get(self, path: str) -> Any:
        """``GET`` a JSON document."""
        return self._json("GET", self.url(path), None)

    def post(self, path: str, body: dict[str, Any], *, retries: int | None = None) -> Any:
        """``POST`` a JSON body and return the parsed JSON reply; ``path`` may be a full URL."""
        url = path if "://" in path else self.url(path)
        return self._json("POST", url, body, retries=retries)

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """``POST`` with ``"stream": true`` and yield each server-sent event's JSON, until the
        server's ``[DONE]``. Closing the iterator early closes the connection."""
        url = self.url(path)
        response = self._open("POST", url, {**body, "stream": True})
        data: list[str] = []
        try:
            while True:
                try:
                    raw = response.readline()
                except (TimeoutError, OSError, http.client.HTTPException) as exc:
                    raise ServerError(
                        f"{url} stopped answering mid-reply ({_reason(exc)})"
                    ) from exc
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line.startswith("data:"):
                    data.append(line[5:].strip())
                    continue
                if line:
                    continue  # comments and the other SSE fields carry nothing we use
                if data:
                    payload = "\n".join(data)
                    data = []
                    if payload == "[DONE]":
                        return
                    yield _checked(url, _parse(url, payload))
                if not raw:
                    raise ServerError(f"{url} closed the stream before its end ([DONE])")
        finally:
            response.close()

    # -- plumbing -------------------------------------------------------------------
    def _json(
        self, method: str, url: str, body: dict[str, Any] | None, *, retries: int | None = None
    ) -> Any:
        def attempt() -> bytes:
            response = self._open_once(method, url, body)
            try:
                return bytes(response.read())
            finally:
                response.close()

        raw = self._with_retries(url, attempt, retries)
        return _checked(url, _parse(url, raw.decode("utf-8", errors="replace")))

    def _open(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        return self._with_retries(url, lambda: self._open_once(method, url, body), None)

    def _with_retries(self, url: str, attempt: Callable[[], T], retries: int | None) -> T:
        tries = (self.retries if retries is None else retries) + 1
        for n in range(tries):
            try:
                return attempt()
            except _Transient as exc:
                if n + 1 < tries:
                    log.warning("%s: %s; trying again", url, exc)
                    time.sleep(self.backoff * 2**n)
                    continue
                raise ServerError(
                    f"Could not get an answer from {url} after {tries} tries ({exc}): "
                    "is the server running, and is the URL right?"
                ) from exc.__cause__
        raise AssertionError("unreachable")

    def _open_once(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        headers = {"Accept": "application/json, text/event-stream"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            return self._opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code in RETRYABLE:
                raise _Transient(f"HTTP {exc.code}: {detail}") from exc
            hint = " (check the API key: RAG_API_KEY)" if exc.code in {401, 403} else ""
            raise ServerError(f"{url} answered HTTP {exc.code}{hint}: {detail}") from exc
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise _Transient(_reason(exc)) from exc


class _Transient(Exception):
    """A failure another try may cure: refused connection, timeout, busy server."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        exc = exc.reason if isinstance(exc.reason, BaseException) else exc
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(2000).decode("utf-8", errors="replace")
    except OSError:
        return exc.reason or ""
    try:
        error = json.loads(text).get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    except (ValueError, AttributeError):
        pass
    return text.strip()[:300] or str(exc.reason)


def _parse(url: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ServerError(f"{url} answered something that is not JSON: {text[:200]!r}") from None


def _checked(url: str, reply: Any) -> Any:
    """The reply, unless it is the ``{"error": ...}`` some servers send with status 200."""
    if isinstance(reply, dict) and reply.get("error"):
        error = reply["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ServerError(f"{url} answered with an error: {message}")
    return reply
