"""Not a test: a process that indexes with the fake embedder, for tests/test_robustness.py.

``python -m tests.index_worker FOLDER A B`` loads the corpus folders A and B, prints
``ready``, then answers commands read from stdin, one line each:

    loop       fork a child that indexes A, B, A, B, ... into FOLDER until it is killed -> its pid
    step K     fork a child that indexes A once and kills itself (SIGKILL) just before its
               K-th write to disk -> its pid
    fsize N    fork a child that indexes A once, unable to write files over N bytes (the kernel
               fails the write, as on a full disk) -> its pid; it exits 3 on an IndexStoreError
    wait       wait for the child -> "exit 0", or "signal 9" if it was killed
    run N      index A, B, A, ... N times in this process -> "done R", R being how many of
               those runs found a damaged index and rebuilt it (0 unless something broke)

Forking from a process that has already imported numpy, FAISS and the text splitter starts a
child in milliseconds, so a test can kill twenty of them in a few seconds. For example, with
the index holding B, ``step 1`` leaves it holding B (killed before its first write) and
``step 1000`` ends with ``exit 0`` and the index holding A.

:func:`patch_writes` is also what the full-disk test uses, in the test's own process.
"""

from __future__ import annotations

import errno
import os
import resource
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import rag.index
from rag.documents import load_documents
from rag.errors import IndexStoreError
from rag.index import VectorIndex, update_index
from rag.types import Document
from tests.conftest import FakeEmbedder

Setter = Callable[[Any, str, Any], None]


def patch_writes(
    hook: Callable[[str], None], setter: Setter = setattr, deletes: bool = True
) -> None:
    """Call ``hook(what)`` before every write the index makes: files opened for writing,
    folders made, FAISS saves, fsyncs, renames and (if ``deletes``) removals."""

    def wrap(owner: Any, name: str, writes: Callable[..., bool] = lambda *a, **k: True) -> None:
        real = getattr(owner, name)

        def patched(*args: Any, **kwargs: Any) -> Any:
            if writes(*args, **kwargs):
                hook(f"{name} {args[0]}")
            return real(*args, **kwargs)

        setter(owner, name, patched)

    def for_writing(path: Path, mode: str = "r", *args: Any, **kwargs: Any) -> bool:
        return any(c in mode for c in "wax+")

    wrap(Path, "open", for_writing)
    wrap(Path, "mkdir")
    wrap(VectorIndex, "save")
    wrap(rag.index, "fsync_path")
    wrap(os, "replace")
    if deletes:
        wrap(Path, "unlink")
        wrap(shutil, "rmtree")


def disk_full_at(step: int) -> Callable[[str], None]:
    """A hook for patch_writes that fails the ``step``-th write (from 1) with ENOSPC."""
    count = 0

    def hook(what: str) -> None:
        nonlocal count
        count += 1
        if count == step:
            raise OSError(errno.ENOSPC, "No space left on device", what)

    return hook


def update(folder: Path, documents: list[Document]) -> rag.index.IndexStats:
    # Small vectors, so the FAISS file is smaller than the chunk file and a file-size limit
    # can fall between the two (test_write_failing_mid_file_keeps_the_old_index).
    embedder = FakeEmbedder(dim=64)
    return update_index(folder, documents, embedder, chunk_size=600, chunk_overlap=120)[1]


def child(folder: Path, corpora: list[list[Document]], command: str, args: list[str]) -> None:
    """The forked child's work; it never returns."""
    try:
        if command == "step":
            writes = 0

            def die_at_step(what: str) -> None:
                nonlocal writes
                writes += 1
                if writes == int(args[0]):
                    os.kill(os.getpid(), signal.SIGKILL)

            patch_writes(die_at_step)
            update(folder, corpora[0])
        elif command == "fsize":
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a dead process
            resource.setrlimit(resource.RLIMIT_FSIZE, (int(args[0]), int(args[0])))
            try:
                update(folder, corpora[0])
            except IndexStoreError as exc:
                print(f"IndexStoreError: {exc}", file=sys.stderr, flush=True)
                os._exit(3)
        else:
            while True:
                for documents in corpora:
                    update(folder, documents)
    except BaseException as exc:  # report anything that is not a kill, and exit non-zero
        print(f"child failed: {exc!r}", file=sys.stderr, flush=True)
        os._exit(1)
    os._exit(0)


def main(argv: list[str]) -> int:
    import faiss  # noqa: F401  (imported here once, not by every child)
    import langchain_text_splitters  # noqa: F401

    folder, corpora = Path(argv[0]), [load_documents(argv[1]), load_documents(argv[2])]
    print("ready", flush=True)
    pid = 0
    while line := sys.stdin.readline():
        command, *args = line.split()
        if command == "wait":
            _, status = os.waitpid(pid, 0)
            if os.WIFSIGNALED(status):
                print(f"signal {os.WTERMSIG(status)}", flush=True)
            else:
                print(f"exit {os.WEXITSTATUS(status)}", flush=True)
        elif command == "run":
            rebuilt = sum(bool(update(folder, corpora[i % 2]).rebuilt) for i in range(int(args[0])))
            print(f"done {rebuilt}", flush=True)
        else:
            pid = os.fork()
            if pid == 0:
                child(folder, corpora, command, args)
            print(pid, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
