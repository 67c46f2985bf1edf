"""Engines for the model process (rag.worker) that load nothing, for the tests: one that
echoes, one that also takes its time to read, and ones that crash the way native code does
(a real segmentation fault, read at address 0), at start-up or while answering, in one
configuration or in all.

They run in the child process ``python -m rag.worker``, named ``tests.fake_engines:Echo``.
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from rag.errors import ModelError
from rag.gate import Gate, Usage


def segfault() -> None:
    """Crash this process as a fault in native code does."""
    ctypes.string_at(0)


@dataclass
class Echo:
    """Replies with the last message's words, one piece each. Its probe says it reads
    ``speed`` prompt tokens a second (times 2 when repacked, if ``repacked_faster``)."""

    path: str = ""
    repack: bool = False
    context_tokens: int = 4096
    threads: int = 0
    states: str | None = None
    speed: float = 100.0
    repacked_faster: bool = False
    delay: float = 0.0  # seconds between pieces

    def __post_init__(self) -> None:
        self.usage = Usage()

    def info(self) -> dict[str, Any]:
        return {"path": self.path, "repack": self.repack, "load_s": 0.01, "system_info": "FAKE"}

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int = 320,
        temperature: float = 0.0,
        seed: int = 0,
        gate: Gate | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[str]:
        words = messages[-1]["content"].split()[:max_tokens]
        self.usage = Usage(prompt_tokens=len(words), prefix="memory")
        if gate is not None:
            self.usage.marker_probability = gate.threshold / 2
        for word in words:
            if cancelled():
                break
            self.usage.completion_tokens += 1
            yield word + " "
            self.answered(word)
            time.sleep(self.delay)

    def answered(self, word: str) -> None:
        """Called after each piece: the crashing engines crash here."""

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def measure(self) -> dict[str, float]:
        fast = self.repack and self.repacked_faster
        return {"prompt_tps": self.speed * (2 if fast else 1), "decode_tps": 10.0}

    def probe(self) -> dict[str, Any]:
        return {**self.info(), **self.measure(), "choices": [1, 2, 3, 4]}


@dataclass
class Reader(Echo):
    """Echoes, after reading the last message at ``speed`` words a second, as a model reads a
    prompt; its usage counts them all. Its probe, from an empty prompt, says twice that."""

    speed: float = 1000.0

    def measure(self) -> dict[str, float]:
        return {"prompt_tps": 2 * self.speed, "decode_tps": 10.0}

    def stream(self, messages: list[dict[str, str]], **options: Any) -> Iterator[str]:
        words = messages[-1]["content"].split()
        time.sleep(len(words) / self.speed)
        yield from super().stream(messages, **options)
        self.usage.prompt_tokens = len(words)


class CrashOnLoad(Echo):
    """Dies of a segmentation fault while loading, in every configuration."""

    def __post_init__(self) -> None:
        segfault()


class CrashWhenRepacked(Echo):
    """Dies of a segmentation fault loading the repacked configuration (the AMX crash);
    works plain."""

    def __post_init__(self) -> None:
        if self.repack:
            segfault()
        super().__post_init__()


class CrashAnsweringWhenRepacked(Echo):
    """Loads in both configurations, probes faster repacked, and dies of a segmentation fault
    after its first piece when repacked: a crash the probe did not see."""

    def __post_init__(self) -> None:
        self.repacked_faster = True
        super().__post_init__()

    def answered(self, word: str) -> None:
        if self.repack:
            segfault()


class WrongWhenRepacked(Echo):
    """Repacked, it loads and is faster, but picks other next tokens than plain."""

    def __post_init__(self) -> None:
        self.repacked_faster = True
        super().__post_init__()

    def probe(self) -> dict[str, Any]:
        return {**super().probe(), "choices": [9, 9, 9, 9] if self.repack else [1, 2, 3, 4]}


class NotAModel(Echo):
    """Refuses its file, as llama.cpp does a file that is not GGUF."""

    def __post_init__(self) -> None:
        raise ModelError(f"llama.cpp could not load {self.path}: not a GGUF file")
