"""Generators: chat messages -> streamed answer text, behind one small interface.

Backends: ``llama-cpp`` (a packaged GGUF run by llama-cpp-python on the CPU;
the default) and ``transformers`` (Hugging Face checkpoints or GGUF files,
on a GPU when there is one). Both are deterministic by default (greedy).

>>> g = generator_from_spec("llama-cpp", model="qwen2.5-coder-1.5b")   # doctest: +SKIP
>>> "".join(g.stream([{"role": "user", "content": "Say hi"}], max_tokens=8))  # doctest: +SKIP
'Hi!'
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelError
from .models import MODELS, model_path

Message = dict[str, str]


@dataclass
class Usage:
    """Token counts of the last generation."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


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
    ) -> Iterator[str]:
        """Yield the reply's text piece by piece."""


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
    ) -> Iterator[str]:
        self.usage = Usage()
        chunks = self._llm.create_chat_completion(
            messages=messages,  # type: ignore[arg-type]
            max_tokens=max_tokens,
            temperature=temperature,
            top_k=1 if temperature == 0 else 40,
            seed=seed,
            stream=True,
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
    ) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

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

        def run() -> None:
            try:
                with torch.inference_mode():
                    out = self._model.generate(
                        **inputs,
                        max_new_tokens=max_tokens,
                        streamer=streamer,
                        pad_token_id=self._tok.eos_token_id,
                        **sampling,
                    )
                self.usage.completion_tokens = int(out.shape[1] - inputs["input_ids"].shape[1])
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)
                streamer.end()

        self.usage = Usage(prompt_tokens=int(inputs["input_ids"].shape[1]))
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        yield from (piece for piece in streamer if piece)
        worker.join()
        if errors:
            raise ModelError(f"Generation failed: {errors[0]}") from errors[0]


_CACHE: dict[tuple[Any, ...], Generator] = {}
_CACHE_LOCK = threading.Lock()


def generator_from_spec(
    spec: str,
    *,
    model: str = "qwen2.5-coder-1.5b",
    cache_dir: Path | None = None,
    context_tokens: int = 4096,
    threads: int = 0,
) -> Generator:
    """Build (once per process) the generator a settings string names.

    ``"llama-cpp"`` runs the packaged ``model``; ``"llama-cpp:<file.gguf>"``
    any GGUF file; ``"transformers:<folder, .gguf or packaged name>"``.
    """
    from .settings import default_home

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
        f"Unknown generator {spec!r}: use 'llama-cpp', 'llama-cpp:<file.gguf>' or "
        "'transformers:<folder or .gguf>'"
    )
