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

import logging
import math
import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .endpoints import Endpoint
from .errors import ModelError, ServerError
from .models import MODELS, model_path

log = logging.getLogger("rag")

Message = dict[str, str]


@dataclass
class Usage:
    """Token counts of the last generation, and the gate's reading (see :class:`Gate`)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    marker_probability: float | None = None


@dataclass(frozen=True)
class Gate:
    """A rule for the reply's first token: ``marker`` may open the reply only when the model
    gives it at least ``threshold`` probability there, and then it is taken even if it is not
    the likeliest token; below, it is banned, so the model must write something else.

    The pipeline gates its refusal marker this way: a small model's greedy choice between
    "refuse" and "answer" is badly calibrated, and one threshold on the marker's probability,
    set by measurement on the evaluation set, trades false refusals against invented answers.
    Only the first token of ``marker`` is gated.

    >>> Gate("NONE", 0.5).admits(0.7), Gate("NONE", 0.5).admits(0.2)
    (True, False)
    """

    marker: str
    threshold: float

    def admits(self, probability: float) -> bool:
        return probability >= self.threshold


class FirstStep:
    """The logits hook both backends install to apply ``gate`` at the first step only; the
    marker's probability goes to ``usage``.

    >>> import numpy as np
    >>> usage = Usage()
    >>> hook = FirstStep(usage, token=1, gate=Gate("x", 0.5))
    >>> scores = hook(np.zeros(3, dtype=np.float32))
    >>> round(usage.marker_probability, 3), hook(scores) is scores  # later steps: untouched
    (0.333, True)
    """

    def __init__(self, usage: Usage, *, token: int, gate: Gate) -> None:
        self.usage, self.token, self.gate = usage, token, gate

    def __call__(self, scores: Any) -> Any:
        if self.usage.marker_probability is not None:
            return scores
        scores, self.usage.marker_probability = gated(scores, self.token, self.gate)
        return scores


def gated(scores: Any, token: int, gate: Gate) -> tuple[Any, float]:
    """First-step logits with ``gate`` applied, and the marker token's probability.

    >>> import numpy as np
    >>> out, p = gated(np.array([0.0, 0.0, 0.0], dtype=np.float32), 1, Gate("x", 0.5))
    >>> round(p, 3), out.tolist()
    (0.333, [0.0, -inf, 0.0])
    """
    import numpy as np

    x = np.asarray(scores, dtype=np.float64)
    top = x.max()
    p = float(np.exp(x[token] - top) / np.exp(x - top).sum())
    out = np.array(scores, copy=True)
    if gate.admits(p):
        out[:] = -np.inf
        out[token] = 0.0
    else:
        out[token] = -np.inf
    return out, p


class Generator(ABC):
    """Streams a reply to chat ``messages``. After the stream ends, ``usage``
    holds its token counts. One generation at a time per instance: callers
    that share one (the chat app) serialise through ``lock``."""

    name: str

    def __init__(self) -> None:
        self.usage = Usage()
        self.lock = threading.Lock()

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


class LlamaCppGenerator(Generator):
    """A GGUF model run in-process by llama-cpp-python.

    The model stays loaded for the life of the object; llama.cpp reuses the
    KV cache for the prompt prefix shared with the previous call, so a fixed
    system prompt is read once.
    """

    def __init__(self, path: Path, *, context_tokens: int = 4096, threads: int = 0) -> None:
        super().__init__()
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelError(
                "The llama-cpp backend needs llama-cpp-python: pip install llama-cpp-python"
            ) from exc
        self.name = f"llama-cpp:{path.name}"
        self._llm = Llama(
            model_path=str(path),
            n_ctx=context_tokens,
            n_threads=threads or os.cpu_count() or 2,
            n_batch=512,
            seed=0,
            verbose=False,
        )

    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
    ) -> Iterator[str]:
        from llama_cpp import LogitsProcessorList

        self.usage = Usage()
        processors = None
        if gate is not None:
            marker = self._llm.tokenize(gate.marker.encode("utf-8"), add_bos=False)[0]
            hook = FirstStep(self.usage, token=marker, gate=gate)
            processors = LogitsProcessorList([lambda ids, scores: hook(scores)])
        chunks = self._llm.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=1 if temperature == 0 else 40,
            seed=seed,
            stream=True,
            logits_processor=processors,
        )
        for chunk in chunks:
            delta: Any = chunk["choices"][0]["delta"]  # type: ignore[index]
            piece = delta.get("content")
            if piece:
                self.usage.completion_tokens += 1
                yield piece
        # The context now holds prompt + reply; the reply count is exact per chunk.
        self.usage.prompt_tokens = max(0, self._llm.n_tokens - self.usage.completion_tokens)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))

    @property
    def llm(self) -> Any:
        """The ``llama_cpp.Llama`` underneath, for measuring the raw runtime (bench/)."""
        return self._llm


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


def generator_from_spec(
    spec: str,
    *,
    model: str = "qwen2.5-coder-1.5b",
    cache_dir: Path | None = None,
    context_tokens: int = 4096,
    threads: int = 0,
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
    key = (spec, model, str(cache), context_tokens, threads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            _CACHE[key] = _build(spec, model, cache, context_tokens, threads)
        return _CACHE[key]


def _build(spec: str, model: str, cache: Path, context_tokens: int, threads: int) -> Generator:
    kind, _, arg = spec.partition(":")
    if kind == "llama-cpp":
        path = Path(arg).expanduser() if arg else model_path(model, cache / "models")
        if not path.is_file():
            raise ModelError(f"No GGUF file at {path}: give the path of a .gguf model file")
        return LlamaCppGenerator(path, context_tokens=context_tokens, threads=threads)
    if kind == "transformers":
        return TransformersGenerator(arg or model, cache_dir=cache)
    raise ModelError(
        f"Unknown generator {spec!r}: use 'llama-cpp', 'llama-cpp:<file.gguf>', "
        "'transformers:<folder or .gguf>' or 'openai:<model>'"
    )
