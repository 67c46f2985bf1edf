"""Saved model states after a prompt's fixed prefix, so that a new process skips reading it.

Every prompt of the pipeline opens with the same system prompt and worked examples (about 580
tokens), which a 2-core CPU reads in 10-20 s. llama.cpp keeps them in its KV cache within one
process; this module keeps them on disk between processes: the state of the model's memory
(sequence 0 of llama.cpp's KV cache, 16 MB for the 1.5B model) right after the prefix.

A state is only valid for the exact model file, runtime (llama.cpp build, weight layout, context
size) and prefix tokens it was made with. ``key`` names the first two; the prefix's tokens name
the file and are stored in it. So a changed prompt file, model or build simply finds no state
and makes a new one. Each file carries a sha256 of its payload: a truncated or damaged file is
detected on load, removed, and rebuilt by the caller. Writes go to a temporary file renamed
into place, so a crash never leaves half a state; the least recently used files beyond
``keep`` are removed.

>>> import tempfile
>>> states = PrefixStates(Path(tempfile.mkdtemp()), key="model|build")
>>> states.load([1, 2, 3]) is None
True
>>> _ = states.save([1, 2, 3], b"kv")
>>> states.load([1, 2, 3])
b'kv'
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger("rag")

MAGIC = b"rag-prefix-state 1\n"


class PrefixStates:
    """The saved states of one model and runtime (``key``), in ``folder``."""

    def __init__(self, folder: Path, *, key: str, keep: int = 8) -> None:
        self.folder, self.key, self.keep = folder, key, keep

    def path(self, tokens: Sequence[int]) -> Path:
        digest = hashlib.sha256(f"{self.key}\0{list(tokens)}".encode()).hexdigest()
        return self.folder / f"{digest[:32]}.state"

    def load(self, tokens: Sequence[int]) -> bytes | None:
        """The state saved after ``tokens``, or None if there is none or it fails its checks
        (then it is removed, so that the caller's new one replaces it)."""
        path = self.path(tokens)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        data = _payload(raw, self.key, list(tokens))
        if data is None:
            log.warning("Saved prefix state %s is damaged or stale: rebuilding it", path)
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # most recently used: kept longest
        return data

    def save(self, tokens: Sequence[int], data: bytes) -> Path | None:
        """Save ``data``, the state after ``tokens``; None (and a warning) when the folder
        cannot be written: the state is an optimisation, never a reason to fail."""
        path = self.path(tokens)
        header = {
            "key": self.key,
            "tokens": list(tokens),
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tmp.open("wb") as out:
                out.write(MAGIC + json.dumps(header).encode() + b"\n")
                out.write(data)
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("Could not save the prefix state in %s: %s", self.folder, exc)
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
            return None
        self._prune()
        return path

    def _prune(self) -> None:
        try:
            files = sorted(self.folder.glob("*.state"), key=lambda p: p.stat().st_mtime)
        except OSError:
            return
        for old in files[: max(0, len(files) - self.keep)]:
            old.unlink(missing_ok=True)


def _payload(raw: bytes, key: str, tokens: list[int]) -> bytes | None:
    """The state in a file's bytes, if its header matches and its checksum holds."""
    if not raw.startswith(MAGIC):
        return None
    head, newline, data = raw[len(MAGIC) :].partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError:
        return None
    if not newline or not isinstance(header, dict):
        return None
    ok = (
        header.get("key") == key
        and header.get("tokens") == tokens
        and header.get("size") == len(data)
        and header.get("sha256") == hashlib.sha256(data).hexdigest()
    )
    return data if ok else None
