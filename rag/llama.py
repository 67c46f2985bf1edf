"""The local model itself: a GGUF file run by llama-cpp-python, in the process that imports this.

The model process (rag.worker) runs one ``LlamaEngine``; nothing else in the package imports
``llama_cpp``. What it adds to llama-cpp-python:

- the configuration rag.runtime chose: ``repack`` turns llama.cpp's extra buffer types on (weights
  repacked at load for this CPU's kernels: AVX2/AVX-512 layouts, AMX tiles on Intel Xeons) or off;
- the prompt's fixed prefix (every message but the last: system prompt and worked examples)
  restored from a saved state (rag.prefix) in a new process, instead of read again;
- the refusal gate on the first token (rag.gate);
- ``probe`` and ``measure``: what this configuration computes and how fast, for the choice and
  for ``rag doctor``.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import ModelError
from .gate import FirstStep, Gate, Usage
from .prefix import PrefixStates

Message = dict[str, str]

# A fixed text for probe and measure: French and English prose with names and figures, like
# the documents the model reads. Its tokens are the same for every configuration.
PROBE_TEXT = (
    "Le groupe chinois SenseTime, spécialiste de la reconnaissance faciale, a été fondé en 2014 "
    "par Tang Xiao'ou. Lors de son introduction à la Bourse de Hongkong, en décembre 2021, sa "
    "capitalisation atteignait 16,5 milliards de dollars ; ses actions ont ensuite perdu plus de "
    "75 % de leur valeur. The company, led by Xu Li, reported a net loss of 2.4 billion yuan for "
    "the first half of the year, while Alibaba announced it would invest more than 380 billion "
    "yuan in cloud computing and artificial intelligence over the next three years. "
)


class LlamaEngine:
    """One GGUF model, loaded with ``repack`` on or off; streams chat replies."""

    def __init__(
        self,
        path: str | Path,
        *,
        repack: bool = True,
        context_tokens: int = 4096,
        threads: int = 0,
        states: str | Path | None = None,
    ) -> None:
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ModelError(
                "The llama-cpp backend needs llama-cpp-python: pip install llama-cpp-python"
            ) from exc
        self.path, self.repack = Path(path), repack
        started = time.perf_counter()
        self._llm = load_llama(
            self.path, repack=repack, context_tokens=context_tokens, threads=threads
        )
        self.load_s = time.perf_counter() - started
        self.system_info = llama_cpp.llama_print_system_info().decode("utf-8", "replace").strip()
        self.version = str(getattr(llama_cpp, "__version__", "?"))
        self.usage = Usage()
        # The file's chat template, as llama-cpp-python's chat handler renders it: for the
        # whole prompt (opening the assistant's turn) and for its fixed prefix (not opening it).
        template = self._llm.metadata.get("tokenizer.chat_template")
        self._formats: tuple[Any, Any] | None = None
        if template:
            eos, bos = self._llm.token_eos(), self._llm.token_bos()
            text = self._llm._model.token_get_text

            def chat_format(opening: bool) -> Any:
                return Jinja2ChatFormatter(
                    template=template,
                    eos_token=text(eos) if eos != -1 else "",
                    bos_token=text(bos) if bos != -1 else "",
                    add_generation_prompt=opening,
                    stop_token_ids=[eos],
                )

            self._formats = (chat_format(True), chat_format(False))
        self._states = (
            PrefixStates(Path(states), key=self.state_key())
            if states is not None and self._formats is not None
            else None
        )

    def state_key(self) -> str:
        """What a saved state is only valid for: this model file, build and configuration."""
        st = self.path.stat()
        n_ctx, n_batch = self._llm.n_ctx(), self._llm.n_batch
        return (
            f"{self.path.resolve()}|{st.st_size}|{st.st_mtime_ns}|llama-cpp-python {self.version}"
            f"|{self.system_info}|repack={self.repack}|n_ctx={n_ctx}|n_batch={n_batch}"
        )

    def info(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "repack": self.repack,
            "load_s": round(self.load_s, 3),
            "system_info": self.system_info,
            "version": self.version,
        }

    # -- answering -------------------------------------------------------------------------
    def stream(
        self,
        messages: list[Message],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        """The reply to ``messages``, piece by piece; ``usage`` holds its counts afterwards."""
        from llama_cpp import LogitsProcessorList

        self.usage = Usage()
        processors = None
        if gate is not None:
            marker = self._llm.tokenize(gate.marker.encode("utf-8"), add_bos=False)[0]
            hook = FirstStep(self.usage, token=marker, gate=gate)
            processors = LogitsProcessorList([lambda ids, scores: hook(scores)])
        sampling: dict[str, Any] = {
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_k": 1 if temperature == 0 else 40,
            "seed": seed,
            "stream": True,
            "logits_processor": processors,
        }
        if self._formats is None:  # no chat template in the file: llama-cpp-python's own format
            chunks: Any = self._llm.create_chat_completion(messages=messages, **sampling)
        else:
            rendered = self._formats[0](messages=messages)
            prompt = self._tokens(rendered.prompt)
            self.usage.prompt_tokens = len(prompt)
            if len(messages) > 1:
                prefix = self._tokens(self._formats[1](messages=messages[:-1]).prompt)
                if prefix and prompt[: len(prefix)] == prefix:
                    self.usage.prefix = self._restore(prefix)
            chunks = self._llm.create_completion(prompt, stop=rendered.stop, **sampling)
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                piece = choice["delta"].get("content") if "delta" in choice else choice["text"]
                if piece:
                    self.usage.completion_tokens += 1
                    yield piece
                if cancelled():
                    break
        finally:
            chunks.close()
        if self._formats is None:  # the context holds prompt + reply
            self.usage.prompt_tokens = max(0, self._llm.n_tokens - self.usage.completion_tokens)

    def count_tokens(self, text: str) -> int:
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False))

    def _tokens(self, text: str) -> list[int]:
        # As llama-cpp-python's chat handlers tokenize a rendered template: special tokens read.
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))

    # -- the prefix's state ------------------------------------------------------------------
    def _restore(self, prefix: list[int]) -> str:
        """Make the model's memory hold ``prefix``: kept from the last call, loaded from a
        saved state, or read now (and saved). Returns which (see Usage.prefix)."""
        llm, n = self._llm, len(prefix)
        if llm.n_tokens >= n and llm.input_ids[:n].tolist() == prefix:
            return "memory"
        data = self._states.load(prefix) if self._states else None
        if data is not None and self._set_state(prefix, data):
            return "disk"
        llm.reset()
        llm.eval(prefix)
        if self._states is not None:
            self._states.save(prefix, self._get_state())
        return "built"

    def _get_state(self) -> bytes:
        import llama_cpp

        size = llama_cpp.llama_state_seq_get_size(self._llm.ctx, 0)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._llm.ctx, buffer, size, 0)
        return bytes(buffer[:written])

    def _set_state(self, prefix: list[int], data: bytes) -> bool:
        import llama_cpp

        llm = self._llm
        llm.reset()
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(llm.ctx, buffer, len(data), 0) != len(data):
            llm._ctx.kv_cache_seq_rm(-1, 0, -1)
            return False
        llm.input_ids[: len(prefix)] = prefix
        llm.n_tokens = len(prefix)
        llm._requires_eval = True  # the next call reads at least one token before sampling
        return True

    # -- measuring -------------------------------------------------------------------------
    def probe(self, positions: int = 64) -> dict[str, Any]:
        """What this configuration computes, and how fast (``measure``): the likeliest next
        token at each of ``positions`` positions of PROBE_TEXT, all read in one batch as a
        prompt is, so that the batched kernels are the ones compared."""
        import numpy as np

        # The best of two: a moment of other load on the machine slows one, rarely both.
        runs = [self.measure(prompt=128, decode=16) for _ in range(2)]
        speed = {k: max(r[k] for r in runs) for k in runs[0]}
        llm = self._llm
        tokens = self._tokens(PROBE_TEXT * 4)[:positions]
        llm.reset()
        llm._ctx.kv_cache_seq_rm(-1, 0, -1)
        llm._batch.set_batch(batch=tokens, n_past=0, logits_all=True)
        llm._ctx.decode(llm._batch)
        vocab = llm.n_vocab()
        logits = np.ctypeslib.as_array(llm._ctx.get_logits(), shape=(len(tokens) * vocab,))
        choices = logits.reshape(len(tokens), vocab).argmax(axis=1)
        llm.reset()
        return {**self.info(), **speed, "choices": [int(c) for c in choices]}

    def measure(self, prompt: int = 256, decode: int = 32) -> dict[str, float]:
        """Prompt and decoding speed, in tokens per second, on PROBE_TEXT, read as llama.cpp
        reads a prompt: in batches, with the last position's logits only."""
        tokens = self._tokens(PROBE_TEXT * 8)[:prompt]
        self._llm.reset()
        started = time.perf_counter()
        self._llm.eval(tokens)
        prompt_s = time.perf_counter() - started
        self._llm.reset()
        return {
            "prompt_tokens": len(tokens),
            "prompt_tps": len(tokens) / prompt_s,
            "decode_tps": self._decode_speed(tokens[:16], decode),
        }

    def _decode_speed(self, tokens: list[int], n: int) -> float:
        llm = self._llm
        llm.reset()
        first = 0.0
        made = 0
        for made, _ in enumerate(llm.generate(tokens, top_k=1, temp=0.0), start=1):
            if made == 1:
                first = time.perf_counter()
            if made > n:
                break
        llm.reset()
        return (made - 1) / (time.perf_counter() - first) if made > 1 else 0.0


def load_llama(
    path: Path, *, repack: bool, context_tokens: int = 4096, threads: int = 0, **extra: Any
) -> Any:
    """A ``llama_cpp.Llama`` for ``path`` with llama.cpp's extra buffer types (weight
    repacking) on or off: what the engine runs, and what bench/ compares it with."""
    import llama_cpp
    from llama_cpp import Llama

    try:
        with _extra_buffers(llama_cpp, repack):
            return Llama(
                model_path=str(path),
                n_ctx=context_tokens,
                n_threads=threads or os.cpu_count() or 2,
                n_batch=512,
                seed=0,
                verbose=False,
                **extra,
            )
    except (ValueError, RuntimeError) as exc:
        raise ModelError(
            f"llama.cpp could not load {path}: {exc}. Is it a GGUF model file?"
        ) from exc


@contextlib.contextmanager
def _extra_buffers(llama_cpp: Any, on: bool) -> Iterator[None]:
    """llama-cpp-python sets no ``use_extra_bufts``: its ``Llama`` takes the model parameters
    from ``llama_model_default_params()`` (on), so that function answers ``on`` meanwhile."""
    module = llama_cpp.llama_cpp
    default = module.llama_model_default_params

    def params() -> Any:
        p = default()
        p.use_extra_bufts = on
        return p

    module.llama_model_default_params = params
    try:
        yield
    finally:
        module.llama_model_default_params = default
