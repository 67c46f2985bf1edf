"""A folder of documents that people add to and remove from (the chat's uploads).

Adding checks a file before it lands (its type, its size, that it reads as text) and gives it
a safe name that no file in the folder has: an upload never replaces anything. Removing never
deletes: the file moves to the folder's hidden ``.removed/``, which the loader skips, so what
someone removed by mistake is still on disk.

>>> safe_name("../../etc/<script>Rapport été.MD")
'script_Rapport_été.md'
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from pathlib import Path

from .documents import SUFFIXES, check_size, load_file
from .errors import CorpusError

REMOVED = ".removed"
_MAX_NAME = 100


def safe_name(name: str) -> str:
    """``name`` reduced to a plain file name: no folders, no leading dots, letters, digits,
    ``-``, ``_`` and ``.`` only, a lower-case suffix; CorpusError for a type the loader does not
    read.

    >>> safe_name("notes.txt"), safe_name("C:\\\\Users\\\\a\\\\Mémo final.Md")
    ('notes.txt', 'Mémo_final.md')
    """
    base = re.split(r"[\\/]", unicodedata.normalize("NFC", name))[-1]
    stem, dot, suffix = base.rpartition(".")
    suffix = f".{suffix.lower()}" if dot else ""
    if suffix not in SUFFIXES:
        raise CorpusError(
            f"{base!r} is not a file of a type we read ({', '.join(SUFFIXES)}): save it as "
            "PDF, Word (.docx) or plain text first"
        )
    stem = re.sub(r"[^\w.-]+", "_", stem).strip("._-") or "document"
    return stem[: _MAX_NAME - len(suffix)] + suffix


def add_file(
    folder: Path,
    name: str,
    data: bytes,
    *,
    max_bytes: int | None = None,
    cache: Path | None = None,
) -> Path:
    """Put ``data`` in ``folder`` as a new file named after ``name``; returns its path.

    Raises CorpusError, and writes nothing, when the type is not one the loader reads, the
    file is over ``max_bytes`` (default: the loader's limit for its type), or it cannot be
    read (``rag.documents.load_file``, whose reading is kept in ``cache``). A name already
    taken gets ``-2``, ``-3``… before its suffix.
    """
    clean = safe_name(name)
    try:
        check_size(clean, len(data), max_bytes)
    except CorpusError as exc:
        raise CorpusError(f"{clean} {exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    # Written under a hidden name first (the loader skips those), checked, then renamed: a
    # bad or half-written upload never becomes part of the collection.
    staging = folder / f".upload-{os.getpid()}-{clean}"
    try:
        staging.write_bytes(data)
        load_file(staging, folder, max_bytes=max_bytes, cache=cache)
        target = _link_free(staging, folder / clean)
    except CorpusError as exc:
        raise CorpusError(str(exc).replace(staging.name, clean)) from None
    except OSError as exc:
        raise CorpusError(f"Could not save {clean} in {folder} ({exc.strerror or exc})") from exc
    finally:
        staging.unlink(missing_ok=True)
    return target


def remove_file(folder: Path, doc_id: str) -> Path:
    """Move document ``doc_id`` (its path relative to ``folder``) into ``folder/.removed/``;
    returns where it went. CorpusError when there is no such document in the folder."""
    root = folder.resolve()
    path = (root / doc_id).resolve()
    if root not in path.parents or not path.is_file():
        raise CorpusError(f"No document {doc_id!r} in {folder}")
    bin_ = root / REMOVED
    bin_.mkdir(exist_ok=True)
    target = _link_free(path, bin_ / path.name)
    path.unlink()
    return target


def seed(folder: Path, source: Path) -> Path:
    """``folder``, created as a copy of the documents in ``source`` if it does not exist yet:
    a writable collection that starts with, say, the built-in articles."""
    if not folder.exists():
        staging = folder.with_name(f".{folder.name}.seeding")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            if path.is_file() and path.suffix.lower() in SUFFIXES:
                shutil.copy2(path, staging / path.name)
        os.replace(staging, folder)
    return folder


def _link_free(source: Path, path: Path) -> Path:
    """Hard-link ``source`` at ``path`` or the first free ``stem-N.suffix``: a link never
    replaces a file, so two uploads (or removals) of one name at once both survive."""
    n = 2
    candidate = path
    while True:
        try:
            os.link(source, candidate)
            return candidate
        except FileExistsError:
            candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
            n += 1
