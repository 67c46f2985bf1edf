"""OCR of scanned pages with Tesseract, when it is installed (it is a system program, not a
Python package: ``INSTALL`` says how to add it). French and English are read where their
language data is installed."""

from __future__ import annotations

import functools
import shutil
import subprocess
from typing import Any

INSTALL = (
    "to read scanned pages, install Tesseract with its French data "
    "(Debian or Ubuntu: sudo apt install tesseract-ocr tesseract-ocr-fra; "
    "macOS: brew install tesseract tesseract-lang), then index again"
)
_WANTED = ("fra", "eng")


@functools.cache
def languages() -> tuple[str, ...]:
    """The languages Tesseract can read here among French and English; () when Tesseract or
    pytesseract is missing."""
    if shutil.which("tesseract") is None:
        return ()
    try:
        import pytesseract  # noqa: F401
    except ImportError:
        return ()
    try:
        out = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    have = set(out.split())
    return tuple(lang for lang in _WANTED if lang in have)


@functools.cache
def version() -> str:
    """Tesseract's version, "none" without it: part of the PDF reader's version, so that
    installing OCR re-reads the scanned PDFs."""
    if not languages():
        return "none"
    import pytesseract

    return f"{pytesseract.get_tesseract_version()}-{'+'.join(languages())}"


def read_image(image: Any) -> str:
    """The text of a page's picture (a PIL image), read in the languages installed."""
    import pytesseract

    text: str = pytesseract.image_to_string(image, lang="+".join(languages()), timeout=120)
    return text
