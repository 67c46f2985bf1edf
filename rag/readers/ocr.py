"""OCR of scanned pages with Tesseract, when it is installed (it is a system program, not a
Python package: ``INSTALL`` says how to add it). French and English are read where their
language data is installed.

Tesseract is run directly, one page at a time, with ``OMP_THREAD_LIMIT=1``: its OpenMP threads
fight over a laptop's cores and made a page take 18.5 s instead of 2.7 s, with the same text
(bench/RESULTS.md, "Reading speed per format"). The limit goes to its process only, never to
ours, where it would slow the embedder."""

from __future__ import annotations

import functools
import io
import os
import shutil
import subprocess
from typing import Any

INSTALL = (
    "to read scanned pages, install Tesseract with its French data "
    "(Debian or Ubuntu: sudo apt install tesseract-ocr tesseract-ocr-fra; "
    "macOS: brew install tesseract tesseract-lang), then index again"
)
_WANTED = ("fra", "eng")
_TIMEOUT = 120  # seconds for one page; a page past it is left out with a note


class OcrError(Exception):
    """Tesseract could not read a page (it failed, or took more than two minutes)."""


def _tesseract(*args: str, data: bytes = b"") -> str:
    """Tesseract's standard output for ``args``; OcrError when it fails."""
    try:
        done = subprocess.run(
            ["tesseract", *args],
            input=data,
            capture_output=True,
            timeout=_TIMEOUT,
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise OcrError(str(exc)) from exc
    if done.returncode != 0:
        lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OcrError(lines[-1] if lines else f"exit status {done.returncode}")
    return done.stdout.decode("utf-8", "replace")


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages Tesseract can read here among French and English; () without it."""
    if shutil.which("tesseract") is None:
        return ()
    try:
        have = set(_tesseract("--list-langs").split())
    except OcrError:
        return ()
    return tuple(lang for lang in _WANTED if lang in have)


@functools.cache
def version() -> str:
    """Tesseract's version and languages ("5.3.0-fra+eng"), "none" without it: part of the
    PDF reader's version, so that installing OCR re-reads the scanned PDFs."""
    if not languages():
        return "none"
    try:
        first = _tesseract("--version").split()  # "tesseract 5.3.0 ..."
    except OcrError:
        return "none"
    number = first[1] if len(first) > 1 and first[0] == "tesseract" else "unknown"
    return f"{number}-{'+'.join(languages())}"


def read_image(image: Any) -> str:
    """The text of a page's picture (a PIL image), read in the languages installed;
    OcrError when Tesseract cannot read it."""
    png = io.BytesIO()
    image.save(png, format="PNG")
    return _tesseract("stdin", "stdout", "-l", "+".join(languages()), data=png.getvalue())
