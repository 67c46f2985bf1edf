"""Word files and e-books are ZIP archives: which kind, and reading their parts within bounds.

A ZIP's table of contents may lie about sizes (a decompression bomb says 1 kB and unzips to
gigabytes), so every part is read in blocks and the reading stops at the limit, whatever the
table says.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from rag.errors import CorpusError

from . import _DAMAGED_ZIP, Limits

_BLOCK = 1 << 16


def zip_kind(path: Path) -> str:
    """ "docx", "epub", or what else the ZIP archive at ``path`` is."""
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "mimetype" in names:
                mimetype = z.read("mimetype")[:100].strip()
                if mimetype == b"application/epub+zip":
                    return "epub"
            if "word/document.xml" in names:
                return "docx"
            if "xl/workbook.xml" in names:
                return "a spreadsheet (.xlsx)"
            if "ppt/presentation.xml" in names:
                return "a presentation (.pptx)"
            if "content.xml" in names:
                return "an OpenDocument file (.odt, .ods): save it as .docx"
    except (zipfile.BadZipFile, OSError, EOFError):
        return _DAMAGED_ZIP
    return "a ZIP archive"


class Archive:
    """A ZIP archive opened for reading with a budget of unzipped bytes for all its parts."""

    def __init__(self, path: Path, limits: Limits, what: str) -> None:
        self.what, self.limits, self.left = what, limits, limits.max_unzipped
        try:
            self.zip = zipfile.ZipFile(path)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise CorpusError(
                f"is a damaged or truncated {what} ({exc}): open it and save it again"
            ) from exc
        if len(infos) > limits.max_members:
            raise CorpusError(
                f"is a {what} of {len(infos):,} parts, over the {limits.max_members:,} limit"
            )
        declared = sum(i.file_size for i in infos)
        if declared > limits.max_unzipped:
            raise CorpusError(self._too_big(declared))
        self.names = {i.filename for i in infos}

    def read(self, name: str) -> bytes:
        """The bytes of part ``name``, counted against the budget; CorpusError past it, or
        when the part is damaged."""
        out = bytearray()
        try:
            with self.zip.open(name) as f:
                while block := f.read(_BLOCK):
                    out += block
                    self.left -= len(block)
                    if self.left < 0:
                        raise CorpusError(self._too_big())
        except KeyError as exc:
            raise CorpusError(f"is a damaged {self.what}: its part {name} is missing") from exc
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
            # RuntimeError: an encrypted part ("File is encrypted, password required").
            raise CorpusError(
                f"is a damaged, truncated or encrypted {self.what} ({exc}): open it and save "
                "it again without a password"
            ) from exc
        return bytes(out)

    def _too_big(self, size: int | None = None) -> str:
        how = f"unzips to {size / 1e6:,.0f} MB" if size else "unzips to more"
        return (
            f"is a {self.what} that {how}, over the {self.limits.max_unzipped / 1e6:,.0f} MB "
            "limit: a decompression bomb, or a file to split"
        )

    def close(self) -> None:
        self.zip.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
