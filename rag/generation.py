"""Generators: chat messages -> streamed answer text, behind one small interface.

Backends: ``llama-cpp`` (a packaged GGUF run by llama-cpp-python on the CPU;
the default), ``transformers`` (Hugging Face checkpoints or GGUF files, on a
GPU when there is one) and ``openai`` (any OpenAI-compatible chat-completions
server: vLLM, llama.cpp's server, Ollama, TGI). All are deterministic by
default (greedy).

>>> g = generator_from_spec("llama-cpp", model="qwen2.5-coder-1.5b")   # doctest: +SKIP
>>> "".join(g.stream([{"role": "user", "content": "Say hi"}], max_tokens=8))  # doctest: +SKIP
'Hi!'
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .endpoints import Endpoint
from .errors import ModelCrashed, ModelError, ServerError
from .gate import FirstStep, Gate, Usage
from .models import MODELS, model_path
from .runtime import Verdict, choose, record_crash, run_probe
from .worker import DEFAULT_ENGINE, ModelProcess, last_words

log = logging.getLogger("rag")

Message = dict[str, str]


class Generator(ABC):
    """Streams a reply to chat ``messages``. After the stream ends, ``usage``
    holds its token counts. One generation at a time per instance: callers
    that share one (the chat app) serialise through ``lock``."""

    name: str

    def __init__(self) -> None:
        self.usage = Usage()
        self.lock = threading.Lock()
        self._speeds: dict[tuple[tuple[tuple[str, str], ...], ...], tuple[float, str]] = {}

    @abstractmethod
    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> Iterator[str]:
        """Yield the reply's text piece by piece; ``gate`` rules the first token."""

    def prompt_speed(self, after: Sequence[Message]) -> tuple[float, str]:
        """How fast the model reads what follows ``after``, the messages every prompt opens
        with (the pipeline's system prompt and worked examples, which the model keeps read
        between questions), in tokens a second, and where that figure comes from; rag.budget
        sizes the context by it. Timed once per ``after`` (:func:`timed_prompt_speed`)."""
        key = tuple(tuple(sorted(m.items())) for m in after)
        if key not in self._speeds:
            self._speeds[key] = self._prompt_speed(after)
        return self._speeds[key]

    def _prompt_speed(self, after: Sequence[Message]) -> tuple[float, str]:
        return timed_prompt_speed(self, after)


class LlamaCppGenerator(Generator):
    """A GGUF model run by llama-cpp-python in a process of its own (rag.worker), so that a
    native crash ends one answer with a ModelCrashed that says why, never the caller.

    The process starts at once, in the background: the model loads while the caller does
    other work (the pipeline opens its index meanwhile), and the first ``stream`` waits for it.
    Its llama.cpp configuration is the one rag.runtime chose for this machine (``repack``
    "auto"), or the one given ("on", "off"). The state after the prompt's fixed prefix is
    saved under ``home/prefix`` and loaded by the next process (rag.prefix). After a crash,
    the next call starts a new process; a crash of the chosen configuration rules it out.
    """

    def __init__(
        self,
        path: Path,
        *,
        context_tokens: int = 4096,
        threads: int = 0,
        home: Path | None = None,
        repack: str = "auto",
        engine: str = DEFAULT_ENGINE,
    ) -> None:
        super().__init__()
        from .settings import default_home

        self.name = f"llama-cpp:{path.name}"
        self.path, self.home = path, home or default_home()
        self._repack, self._engine = repack, engine
        self._options: dict[str, Any] = {
            "path": str(path),
            "context_tokens": context_tokens,
            "threads": threads,
            "states": str(self.home / "prefix"),
        }
        # Chosen before anything else loads: the trials measure speed, so they run alone. Read
        # from disk in a millisecond after the first time.
        self._verdict: Verdict | None = None
        if repack not in ("on", "off"):
            self._verdict = choose(
                path,
                self.home,
                probe=lambda config: run_probe(self._options, config, engine=engine),
            )
        self._process: ModelProcess | None = None
        self._failure: BaseException | None = None
        self._starting = threading.Thread(target=self._start_in_background, daemon=True)
        self._starting.start()

    def _start_in_background(self) -> None:
        try:
            self._process = self._start()
        except BaseException as exc:  # raised by the first call, in the caller's thread
            self._failure = exc

    def _start(self) -> ModelProcess:
        repack = self._verdict.repack if self._verdict else self._repack == "on"
        process = ModelProcess({**self._options, "repack": repack}, engine=self._engine)
        try:
            process.wait_ready()
        except ModelCrashed as crash:
            raise self._explain(crash, repack, "loading the model") from None
        return process

    def _model(self) -> ModelProcess:
        """The running model process: the one started in the background, or a new one."""
        self._starting.join()
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure
        if self._process is None or not self._process.alive:
            self._process = self._start()
        return self._process

    @property
    def verdict(self) -> Verdict | None:
        """rag.runtime's choice of configuration, when ``repack`` is "auto"."""
        return self._verdict

    @property
    def info(self) -> dict[str, Any]:
        """What the model process said of itself when ready: file, configuration, load time,
        llama.cpp's build (``system_info``)."""
        return self._model().info

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> Iterator[str]:
        process = self._model()
        self.usage = Usage()
        request = {
            "op": "generate",
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
            "gate": {"marker": gate.marker, "threshold": gate.threshold} if gate else None,
        }
        try:
            # closing(): a caller that stops reading early cancels the generation there.
            with contextlib.closing(process.call(request)) as replies:
                for message in replies:
                    if "piece" in message:
                        yield str(message["piece"])
                    else:
                        self.usage = Usage(**message["done"])
        except ModelCrashed as crash:
            raise self._explain(crash, bool(process.info.get("repack")), "answering") from None

    def count_tokens(self, text: str) -> int:
        return int(self._ask({"op": "count", "text": text})["tokens"])

    def measure(self) -> dict[str, float]:
        """Prompt and decoding speed of the running model, in tokens per second."""
        return {k: float(v) for k, v in self._ask({"op": "measure"}).items()}

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        process = self._model()
        try:
            return next(m["done"] for m in process.call(request) if "done" in m)
        except ModelCrashed as crash:
            raise self._explain(crash, bool(process.info.get("repack")), "measuring") from None

    def close(self) -> None:
        """End the model process (it also ends by itself when this process does)."""
        self._starting.join()
        if self._process is not None:
            self._process.close()

    def _explain(self, crash: ModelCrashed, repack: bool, doing: str) -> ModelCrashed:
        """``crash`` told as a user needs it: what died, why it may have, what happens now."""
        config = "repacked" if repack else "plain"
        if not crash.native:
            remedy = (
                "It was ended from outside, most often by the system for lack of memory "
                "(the model needs about 2 GB). The next question starts it again."
            )
        elif self._verdict is not None and self._verdict.config == config:
            try:
                self._verdict = record_crash(self._verdict, self.home, crash.status)
                remedy = (
                    "That configuration is now ruled out on this machine: ask again, and the "
                    f"{self._verdict.config} one answers."
                )
            except ModelError as exc:
                remedy = str(exc)
        else:
            remedy = (
                "The next question starts it again. If it crashes again, the model file may be "
                f"damaged ({self.path}), or this llama.cpp build may not suit this CPU."
            )
        said = last_words(crash.last_words)
        said = f" Its last words: {said}" if said else ""
        explained = ModelCrashed(
            f"The local model's process {crash.status} while {doing}, running llama.cpp's "
            f"{config} configuration. {remedy} “rag doctor” shows the CPU, the llama.cpp build "
            f"and the model file's checksum.{said}"
        )
        explained.status, explained.native = crash.status, crash.native
        explained.last_words = crash.last_words
        return explained


class TransformersGenerator(Generator):
    """A causal LM through Hugging Face transformers: the path a GPU user takes.

    ``model`` is a local checkpoint folder, a ``.gguf`` file (dequantised on
    load: slow on a CPU), or the name of a packaged GGUF model.
    """

    def __init__(self, model: str, *, cache_dir: Path, device: str | None = None) -> None:
        super().__init__()
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as exc:
            raise ModelError(
                "The transformers backend needs its extra: pip install 'rag[torch]'"
            ) from exc
        kwargs: dict[str, Any] = {"local_files_only": True}
        source = model
        if model in MODELS:
            model = str(model_path(model, cache_dir / "models"))
        if model.endswith(".gguf"):
            source, kwargs["gguf_file"] = str(Path(model).parent), Path(model).name
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            # Typed Any: transformers' own annotations are too loose to check against.
            self._tok: Any = AutoTokenizer.from_pretrained(source, **kwargs)
            loaded: Any = AutoModelForCausalLM.from_pretrained(source, dtype=dtype, **kwargs)
        except (OSError, ValueError) as exc:
            raise ModelError(f"Could not load the transformers model {model!r}: {exc}") from exc
        self._model: Any = loaded.to(self.device).eval()
        self.name = f"transformers:{Path(model).name}"

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> Iterator[str]:
        import torch
        from transformers import LogitsProcessorList, TextIteratorStreamer

        torch.manual_seed(seed)
        inputs = self._tok.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self.device)
        streamer = TextIteratorStreamer(self._tok, skip_prompt=True, skip_special_tokens=True)
        sampling = (
            {"do_sample": True, "temperature": temperature}
            if temperature > 0
            else {"do_sample": False}
        )
        errors: list[BaseException] = []
        prompt_length = int(inputs["input_ids"].shape[1])
        self.usage = Usage(prompt_tokens=prompt_length)
        processors = LogitsProcessorList()
        if gate is not None:
            marker = self._tok.encode(gate.marker, add_special_tokens=False)[0]
            hook = FirstStep(self.usage, token=marker, gate=gate)

            def first_step(input_ids: Any, scores: Any) -> Any:
                if self.usage.marker_probability is not None:
                    return scores
                row = hook(scores[0].float().cpu().numpy())
                return torch.from_numpy(row).to(scores.device, scores.dtype)[None, :]

            processors.append(first_step)

        def run() -> None:
            try:
                with torch.inference_mode():
                    out = self._model.generate(
                        **inputs,
                        max_new_tokens=max_tokens,
                        streamer=streamer,
                        pad_token_id=self._tok.eos_token_id,
                        logits_processor=processors,
                        **sampling,
                    )
                self.usage.completion_tokens = int(out.shape[1] - inputs["input_ids"].shape[1])
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)
                streamer.end()

        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()
        if errors:
            raise ModelError(f"Generation failed: {errors[0]}") from errors[0]


class RemoteGenerator(Generator):
    """Any OpenAI-compatible ``/chat/completions`` endpoint, streamed.

    With a gate, a one-token request comes first and asks for the first token's
    log-probabilities (``top_logprobs``, which vLLM, llama.cpp's servers and recent Ollama
    return); the server's prefix cache makes it cost about one token. At or above the
    threshold the reply is the marker and nothing more is asked. Below it, the answer is
    streamed without log-probabilities (they slow llama-cpp-python's server sevenfold), and
    if the model's first token was the marker anyway, that token is banned through
    ``logit_bias`` (its id comes from the server's tokenize route). A server that sends no
    log-probabilities leaves the refusal to the model's own choice; the log says so once, and
    the one-token request is not made again.
    """

    TOP_LOGPROBS = 20

    def __init__(self, endpoint: Endpoint, model: str = "") -> None:
        super().__init__()
        self._endpoint = endpoint
        self.model = model or endpoint.first_model()
        self.name = f"openai:{self.model}"
        self._marker_ids: dict[str, int | None] = {}
        self._logprobs = True  # until the server shows it sends none

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> Iterator[str]:
        self.usage = Usage()
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "seed": seed,
        }
        if gate is not None and self._logprobs:
            text, top, self.usage.prompt_tokens = self._first_token(body)
            found = _marker_token(top, gate.marker)
            if found is None:
                log.warning("%s sends no log-probabilities: the refusal gate is off", self.name)
                self._logprobs = False
            else:
                self.usage.marker_probability = found[1]
                if gate.admits(found[1]):
                    self.usage.completion_tokens = 1
                    yield gate.marker
                    return
                if found[0] and text.strip() == found[0]:  # the model opened with it anyway
                    marker = self._marker_id(gate.marker)
                    if marker is None:
                        log.warning("%s: no tokenize route to ban %r", self.name, gate.marker)
                    else:
                        body["logit_bias"] = {str(marker): -100}
        yield from self._pieces(body)

    def _first_token(self, body: dict[str, Any]) -> tuple[str, list[Any] | None, int]:
        """The first token's text and top log-probabilities, and the prompt's length."""
        url = self._endpoint.url("/chat/completions")
        probe = {**body, "max_tokens": 1, "logprobs": True, "top_logprobs": self.TOP_LOGPROBS}
        reply = self._endpoint.post("/chat/completions", probe)
        try:
            choice = reply["choices"][0]
            text = choice["message"].get("content") or ""
            logprobs = (choice.get("logprobs") or {}).get("content") or []
            top = logprobs[0].get("top_logprobs") if logprobs else None
            prompt_tokens = int((reply.get("usage") or {}).get("prompt_tokens") or 0)
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise ServerError(
                f"{url} answered something that is not a completion: {reply!r:.200}"
            ) from exc
        return str(text), top, prompt_tokens

    def _pieces(self, body: dict[str, Any]) -> Iterator[str]:
        url = self._endpoint.url("/chat/completions")
        counted = False
        for event in self._endpoint.stream(
            "/chat/completions", {**body, "stream_options": {"include_usage": True}}
        ):
            usage = event.get("usage")
            if isinstance(usage, dict):  # the last event, where the server sends one
                self.usage.prompt_tokens = int(usage.get("prompt_tokens") or 0)
                self.usage.completion_tokens = int(usage.get("completion_tokens") or 0)
                counted = True
            try:
                choices = event.get("choices") or [{}]
                piece = (choices[0].get("delta") or {}).get("content")
            except (AttributeError, IndexError, TypeError) as exc:
                raise ServerError(
                    f"{url} streamed something that is not a completion: {event!r:.200}"
                ) from exc
            if piece:
                if not counted:
                    self.usage.completion_tokens += 1
                yield str(piece)

    def _marker_id(self, marker: str) -> int | None:
        """The marker's first token id, asked of the server's tokenize route: llama-cpp-python
        (``/extras/tokenize``), llama.cpp (``/tokenize``, "content") or vLLM (``/tokenize``,
        "prompt")."""
        if marker not in self._marker_ids:
            root = self._endpoint.root
            routes: list[tuple[str, dict[str, Any]]] = [
                (f"{root}/extras/tokenize", {"input": marker}),
                (f"{root}/tokenize", {"content": marker, "add_special": False}),
                (
                    f"{root}/tokenize",
                    {"model": self.model, "prompt": marker, "add_special_tokens": False},
                ),
            ]
            self._marker_ids[marker] = None
            for url, body in routes:
                try:
                    tokens = self._endpoint.post(url, body, retries=0).get("tokens")
                    self._marker_ids[marker] = int(tokens[0])
                    break
                except (ServerError, AttributeError, IndexError, TypeError, ValueError):
                    continue
        return self._marker_ids[marker]


def _marker_token(top: list[Any] | None, marker: str) -> tuple[str, float] | None:
    """The marker's first token among the first step's top log-probabilities, and its
    probability: the longest listed token the marker starts with (("", 0.0) if none is
    listed: its probability is below the list's; None when the server sent no list).

    >>> _marker_token([{"token": "NONE", "logprob": -0.5}, {"token": "N", "logprob": -3.0}], "NONE")
    ('NONE', 0.6065306597126334)
    >>> _marker_token([{"token": "Eddie", "logprob": -0.1}], "NONE"), _marker_token(None, "NONE")
    (('', 0.0), None)
    """
    if not top:
        return None
    best: tuple[str, float] = ("", 0.0)
    for entry in top:
        token = str(entry.get("token", "")).strip()
        if token and marker.startswith(token) and len(token) > len(best[0]):
            best = (token, math.exp(float(entry.get("logprob", -math.inf))))
    return best


_CACHE: dict[tuple[Any, ...], Generator] = {}
_CACHE_LOCK = threading.Lock()


def timed_prompt_speed(generator: Generator, after: Sequence[Message] = ()) -> tuple[float, str]:
    """Time ``generator`` reading about 600 tokens of prose after the messages ``after`` and
    writing one token. A short request first reads ``after`` (the model keeps it, as it does
    for every question) and warms the model or the connection up; the two requests' texts
    differ from their first word, so that no cache of the model or of a server reuses the
    first's reading for the second. The tokens read are the second prompt's beyond the
    first's. A server's network time counts too, as it does for every question.

    Reading slows as the prompt grows, so the speed where answers read, after the pipeline's
    system prompt and worked examples, is below the speed from an empty prompt
    (docs/design.md, "Settings": 200 against 256 tokens a second on one 2-core machine)."""
    from .budget import DEFAULT_CHARS_PER_TOKEN
    from .llama import PROBE_TEXT

    def read(content: str) -> tuple[float, int]:
        messages = [*after, {"role": "user", "content": content}]
        started = time.perf_counter()
        for _piece in generator.stream(messages, max_tokens=1):
            pass
        return time.perf_counter() - started, generator.usage.prompt_tokens

    text = PROBE_TEXT * 4
    _, short = read("1. Who founded SenseTime?")
    elapsed, tokens = read(f"2. {text}\nWho founded SenseTime?")
    counted = tokens - short if tokens > short > 0 else len(text) / DEFAULT_CHARS_PER_TOKEN
    where = "after the prompt's fixed part" if after else "on a prompt"
    return (counted / elapsed if elapsed > 0 else 0.0), f"timed reading {where}"


def generator_from_spec(
    spec: str,
    *,
    model: str = "qwen2.5-coder-1.5b",
    cache_dir: Path | None = None,
    context_tokens: int = 4096,
    threads: int = 0,
    repack: str = "auto",
    endpoint: Endpoint | None = None,
) -> Generator:
    """Build the generator a settings string names; local models load once per process.

    ``"llama-cpp"`` runs the packaged ``model``; ``"llama-cpp:<file.gguf>"``
    any GGUF file; ``"transformers:<folder, .gguf or packaged name>"``;
    ``"openai:<model>"`` the model of the server at ``endpoint`` (``"openai"``
    alone: the server's first model).
    """
    from .settings import default_home

    kind, _, arg = spec.partition(":")
    if kind == "openai":
        if endpoint is None:
            raise ModelError(
                f"The generator {spec!r} needs the server's URL: set RAG_GENERATOR_URL, "
                "e.g. http://localhost:8080/v1"
            )
        return RemoteGenerator(endpoint, arg)

    cache = cache_dir or default_home()
    key = (spec, model, str(cache), context_tokens, threads, repack)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(spec, model, cache, context_tokens, threads, repack)
        return _CACHE[key]


def _build(
    spec: str, model: str, cache: Path, context_tokens: int, threads: int, repack: str
) -> Generator:
    kind, _, arg = spec.partition(":")
    if kind == "llama-cpp":
        path = Path(arg).expanduser() if arg else model_path(model, cache / "models")
        if not path.is_file():
            raise ModelError(f"No GGUF file at {path}: give the path of a .gguf model file")
        return LlamaCppGenerator(
            path, context_tokens=context_tokens, threads=threads, home=cache, repack=repack
        )
    if kind == "transformers":
        return TransformersGenerator(arg or model, cache_dir=cache)
    raise ModelError(
        f"Unknown generator {spec!r}: use 'llama-cpp', 'llama-cpp:<file.gguf>', "
        "'transformers:<folder or .gguf>' or 'openai:<model>'"
    )
