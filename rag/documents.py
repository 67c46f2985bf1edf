"""Files -> Documents: find the files a folder holds, read them, and mark what is content.

Plain text and Markdown are decoded here; PDF, Word, web pages and e-books go to their
readers (rag.readers), chosen by content as well as by name, whose text is kept in a cache
by the file's hash and the reader's version, so that an unchanged PDF is read (or OCR'd) once.

The text is kept as decoded, so character offsets match the file as a reader sees it: only a
leading BOM and invisible zero-width characters go (``"Sense\\u200bTime"`` would otherwise be
two words to search and to the citation check). Boilerplate is not deleted but left out of
``Document.spans``, the ranges the chunker reads. For example::

    sensetime                          <- tag slug at the top: dropped
    <blank>
    SenseTime en Bourse                <- title (short, no final period): kept
    <blank>
    SenseTime a bondi de 85 %.         <- kept, merged with the title into one span
    Newsletter                         <- dropped, ends the span

Files over ``MAX_FILE_BYTES``, files that cannot be read (each with its reason, in
``Folder.skipped``) and second copies of an article are skipped with a warning. Left out:
language detection, and guessing encodings beyond UTF-8/16/32 with a BOM, plain UTF-8 and
cp1252 (the usual encodings of French and English web text).
"""

from __future__ import annotations

import codecs
import dataclasses
import hashlib
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from rag import readers
from rag.errors import CorpusError
from rag.types import Document, Section, Skipped

SUFFIXES = tuple(readers.SUFFIXES)
# A news article is 5-50 kB. A 100 MB text file is ~210,000 chunks: a minute to load, chunk
# and index with a trivial embedder, hours with a real one (docs/robustness.md). Bigger files
# are skipped; raise this to index them anyway. A PDF, Word file or e-book carries pictures
# and fonts besides its text, so its limit is higher; its text is bounded by readers.Limits.
MAX_FILE_BYTES = 10_000_000
MAX_PACKED_BYTES = 100_000_000
# What reading one PDF, Word file or e-book may cost: pages, OCR, characters, unzipped bytes.
LIMITS = readers.Limits()
Span = tuple[int, int]
log = logging.getLogger("rag")

# UTF-32 first: its little-endian BOM starts with the UTF-16 one.
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Control characters other than tab/newline/form feed: text holds almost none, while binary
# data decoded as cp1252 or latin-1 is full of them.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_MAX_CONTROL_SHARE = 0.05
# Invisible characters that split a word in two for search and the citation check: zero-width
# space, non-joiner and joiner, word joiner, a BOM inside the text, soft hyphen.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_MAX_BOILERPLATE_LEN = 250  # longer lines are paragraphs, whatever words they start with

_AGENCY = r"(afp|reuters|ap|associated press|bloomberg|belga|dpa|ansa|efe|ats|xinhua)"
# Matched with re.search against the line lowercased, without accents and with ' quotes.
_BOILERPLATE = {
    "newsletter": r"^((la|notre|our|the) )?newsletters?\W*$|^envie de ne (rien |pas )?"
    r"(louper|rater|manquer)|\b(abonnez|inscrivez)[- ]vous\b|^(subscribe|sign up|signup)\b"
    r"|^join our (newsletter|mailing list)",
    "comments": r"^(cliquez|cliquer) (ici )?pour (commenter|reagir)|^(laisser|laissez|ecrire"
    r"|ajouter) un commentaire|^votre adresse (e-?mail|electronique|de messagerie) ne sera"
    r" pas publiee|^(leave|post|add|write) a (comment|reply)|^your email address will not"
    r" be published|^(les champs obligatoires|required fields are)|^\d* ?(commentaires?"
    r"|comments?|reactions?)\W*$",
    "hashtags": r"^(#[^\W\d_][^#]{0,60})+$",
    "credit": r"^(photo ?)?(credits?|courtesy)( (photo|image)s?)? ?[:/-]|^(photos?|images?"
    r"|illustration) ?:|^(photo|image) (credit|courtesy)|^(©|\(c\)|copyright\b)",
    "read also": r"^(a )?(lire|voir) (aussi|egalement)|^(read|see|also) (also|more|read)\b"
    r"|^sur le meme sujet|^related( articles?| stories| posts)?\W*$",
    "share": r"^(partager|partagez|share)( (cet article|l'article|this( article| post| story)?"
    r"|(sur|on|via) [\w ]+))?\W*$",
    "promo": r"votre projet soit presente|mettez-le en avant|^(publicite|advertisement"
    r"|sponsored( content)?|contenu sponsorise)\W*$",
    "byline": rf"^((par|by|avec|with|source ?:) )?{_AGENCY}( ?[/,&-] ?{_AGENCY})*\W*$",
}
_RULES = {kind: re.compile(pattern) for kind, pattern in _BOILERPLATE.items()}
# Words a dateline may hold ("Publié le jeudi 6 mars 2025 à 11h41", "Updated 5 min read").
_DATE_WORDS = frozenset(
    {
        "lundi",
        "mardi",
        "mercredi",
        "jeudi",
        "vendredi",
        "samedi",
        "dimanche",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "janvier",
        "fevrier",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "aout",
        "septembre",
        "octobre",
        "novembre",
        "decembre",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "le",
        "la",
        "a",
        "h",
        "publie",
        "mis",
        "jour",
        "updated",
        "published",
        "on",
        "at",
        "am",
        "pm",
        "the",
        "of",
        "gmt",
        "utc",
        "cet",
        "min",
        "read",
    }
)


@dataclass
class Folder:
    """What a folder holds: the documents read, and the files skipped with their reasons."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def read_folder(
    folder: str | Path, *, max_bytes: int | None = None, cache: Path | None = None
) -> Folder:
    """Read every file of a format we read under ``folder``, sorted by relative path.

    Unreadable files, files over the size limit and later copies of an article already
    loaded (same content, whatever the encoding or boilerplate) are skipped, each with its
    reason. ``cache`` is a folder where what the PDF, Word, web and e-book readers extract
    is kept (see ``load_file``). CorpusError when the folder does not exist.
    """
    root = Path(folder).absolute()
    if not root.exists():
        raise CorpusError(f"corpus folder {folder} does not exist: pass a folder of documents")
    if not root.is_dir():
        raise CorpusError(f"{folder} is not a folder: pass a folder of documents")
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # .git, .venv, ...
        paths += [
            Path(dirpath, name)
            for name in filenames
            if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES
        ]
    found = Folder()
    first_with: dict[str, str] = {}  # content fingerprint -> id of the first file holding it
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        try:
            doc = load_file(path, root, max_bytes=max_bytes, cache=cache)
        except CorpusError as exc:
            log.warning("skipping %s", exc)
            doc_id = path.relative_to(root).as_posix()
            found.skipped.append(Skipped(doc_id, str(exc).removeprefix(f"{doc_id}: ")))
            continue
        key = _fingerprint(doc)
        if key in first_with:
            log.warning("skipping %s: same article as %s, indexed once", doc.id, first_with[key])
            found.skipped.append(
                Skipped(doc.id, f"is the same text as {first_with[key]}, which is indexed")
            )
            continue
        first_with[key] = doc.id
        found.documents.append(doc)
    return found


def load_documents(
    folder: str | Path, *, max_bytes: int | None = None, cache: Path | None = None
) -> list[Document]:
    """The documents ``read_folder`` finds; CorpusError when there are none.

    ``load_documents("rag/corpus")[0].id`` -> ``"000_77984f51074b5574.txt"``.
    """
    documents = read_folder(folder, max_bytes=max_bytes, cache=cache).documents
    if not documents:
        raise CorpusError(
            f"{folder} holds no readable document (.txt, .md, .pdf, .docx, .html, .epub): "
            "warnings name any file that was skipped and why"
        )
    return documents


def load_file(
    path: Path, root: Path, *, max_bytes: int | None = None, cache: Path | None = None
) -> Document:
    """Read one file into a Document whose ``id`` is its path relative to ``root``.

    ``load_file(Path("c/sub/a.md"), Path("c")).id`` -> ``"sub/a.md"``. Raises CorpusError
    if the file cannot be read, is over ``max_bytes`` (default ``MAX_FILE_BYTES``, or
    ``MAX_PACKED_BYTES`` for a PDF, Word file or e-book; checked before reading), is not
    what its name says, or holds no content. What a reader extracts is kept in ``cache``
    under the file's hash and the reader's version, and read from there the next time.
    """
    path, root = Path(path).absolute(), Path(root).absolute()
    doc_id = path.relative_to(root).as_posix()
    try:
        check_size(path.name, path.stat().st_size, max_bytes)
        if path.stat().st_size == 0:
            raise CorpusError("is empty, nothing to index")
        fmt = readers.choose(path)
        data = path.read_bytes()
        sha256 = hashlib.sha256(data).hexdigest()
        if fmt == "text":
            doc = Document(doc_id, str(path), "", decode(data), sha256)
        else:
            doc = _read_packed(path, doc_id, fmt, sha256, cache)
    except OSError as exc:
        raise CorpusError(f"{doc_id}: cannot be read ({exc.strerror or exc})") from exc
    except CorpusError as exc:
        raise CorpusError(f"{doc_id}: {exc}") from exc
    spans = content_spans(doc.text)
    if not spans:
        why = "holds only boilerplate" if doc.text.strip() else "is empty"
        raise CorpusError(f"{doc_id}: {why}, nothing to index")
    title = short_title(doc.title) if doc.title else find_title(doc.text, spans, path.stem)
    return dataclasses.replace(doc, title=title, spans=spans)


def check_size(name: str, size: int, max_bytes: int | None = None) -> None:
    """CorpusError when a file of ``size`` bytes named ``name`` is over ``max_bytes`` (default:
    ``MAX_PACKED_BYTES`` for a PDF, Word file or e-book, ``MAX_FILE_BYTES`` for the rest)."""
    packed = readers.SUFFIXES.get(Path(name).suffix.lower()) in ("pdf", "docx", "epub")
    limit = max_bytes if max_bytes is not None else MAX_PACKED_BYTES if packed else MAX_FILE_BYTES
    if size > limit:
        setting = "MAX_PACKED_BYTES" if packed else "MAX_FILE_BYTES"
        raise CorpusError(
            f"is {_size(size)}, over the {_size(limit)} limit per file: split it into "
            f"smaller files or raise rag.documents.{setting}"
        )


def _read_packed(path: Path, doc_id: str, fmt: str, sha256: str, cache: Path | None) -> Document:
    """A PDF, Word file, web page or e-book read by its reader, or from ``cache``."""
    reader = readers.reader(fmt)
    key = hashlib.sha256(f"{sha256} {reader.version} {LIMITS}".encode()).hexdigest()[:32]
    stored = cache / f"{key}.json" if cache else None
    got = _cached(stored)
    if got is None:
        try:
            got = reader.read(path, LIMITS)
        except CorpusError:
            raise
        except Exception as exc:  # a library's own error on a broken file: say which file
            raise CorpusError(
                f"could not be read as a {readers.NAMES[fmt]} ({type(exc).__name__}: {exc}); "
                "open it and save it again"
            ) from exc
        _store(stored, got)
    for note in got.notes:
        log.warning("%s: %s", doc_id, note)
    return Document(
        doc_id,
        str(path),
        got.title,
        got.text,
        sha256,
        format=fmt,
        sections=got.sections,
        pages=got.pages,
        reader=reader.version,
        notes=got.notes,
        date=got.date,
        author=got.author,
    )


def _cached(path: Path | None) -> readers.Extracted | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return readers.Extracted(
            data["text"],
            tuple(Section(**s) for s in data["sections"]),
            **{k: data[k] for k in ("title", "pages", "date", "author")},
            notes=tuple(data["notes"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None  # none yet, or damaged: read the file again


def _store(path: Path | None, got: readers.Extracted) -> None:
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(got), ensure_ascii=False), "utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # a cache that cannot be written costs a second reading only
        log.warning("could not keep the text of a file in %s (%s)", path.parent, exc)


def decode(data: bytes) -> str:
    """Bytes -> text: BOM if any, else UTF-8, else cp1252 (latin-1 for its 5 unused bytes);
    zero-width characters removed.

    Raises CorpusError for binary data.

    >>> decode("été".encode("cp1252")), decode(b"\\xef\\xbb\\xbfBOM gone")
    ('été', 'BOM gone')
    >>> decode("Sense\\u200bTime".encode())
    'SenseTime'
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise CorpusError(f"not valid {encoding} despite its BOM ({exc.reason})") from exc
            break
    else:
        if b"\0" in data:  # no text encoding but UTF-16/32 writes NUL bytes
            raise CorpusError("binary data (NUL bytes), not text: save it as UTF-8 text")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    if text and len(_CONTROL.findall(text)) / len(text) > _MAX_CONTROL_SHARE:
        raise CorpusError("binary data (control characters), not text: save it as UTF-8 text")
    return text.translate(_INVISIBLE)


def content_spans(text: str) -> tuple[Span, ...]:
    """The ``(start, end)`` ranges of article content in ``text``, boilerplate left out.

    Kept lines merge across blank lines; a boilerplate line ends a span. Each span starts
    and ends on non-space.

    >>> content_spans("sensetime\\n\\nTitle\\n\\nBody.\\nNewsletter\\n")
    ((11, 23),)
    """
    lines, offsets, pos = text.splitlines(keepends=True), [], 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    stripped = [line.strip() for line in lines]
    kinds = [_boilerplate_kind(s) for s in stripped]
    nonblank = [i for i, s in enumerate(stripped) if s]
    # A lone lowercase word above the article is a tag or URL slug ("sensetime").
    if (
        len(nonblank) > 1
        and stripped[nonblank[0]].islower()
        and re.fullmatch(r"[\w-]{1,40}", stripped[nonblank[0]])
    ):
        kinds[nonblank[0]] = "slug"
    # A caption printed twice around its photo credit is page furniture: drop both copies.
    for i in [i for i, kind in enumerate(kinds) if kind == "credit"]:
        near = [j for j in range(max(0, i - 3), min(len(lines), i + 4)) if j != i and stripped[j]]
        for j in near:
            if sum(stripped[k] == stripped[j] for k in near) > 1:
                kinds[j] = "caption"
    spans: list[Span] = []
    extend = False  # whether the next kept line joins the last span (no boilerplate between)
    for i, line in enumerate(lines):
        if kinds[i] is not None:
            extend = False
        elif stripped[i]:
            end = offsets[i] + len(line.rstrip())
            if extend:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((offsets[i] + len(line) - len(line.lstrip()), end))
            extend = True
    return tuple(spans)


def find_title(text: str, spans: tuple[Span, ...], fallback: str) -> str:
    """The document's own title, else a short one made of its first sentence (``short_title``),
    else ``fallback``.

    >>> find_title("# Intro\\nBody.", ((0, 13),), "stem"), find_title("", (), "stem")
    ('Intro', 'stem')
    """
    if not spans:
        return fallback
    start, end = spans[0]
    lines = text[start:end].splitlines()
    first = lines[0].strip()
    heading = re.fullmatch(r"#{1,6}\s+(.*?)[\s#]*", first)  # Markdown "# Title"
    if heading and heading.group(1):
        return heading.group(1)
    following = lines[1].strip() if len(lines) > 1 else ""  # "": a blank line or nothing
    # A longer next line starting in lowercase is the same paragraph wrapped, not a body.
    if (
        len(first) <= 150
        and not first.endswith((".", ":", ";", ","))
        and (not following or (len(following) > len(first) and not following[0].islower()))
    ):
        return first
    sentence = re.split(r"(?<=[.!?…])\s", " ".join(text[start:end].split()), maxsplit=1)[0]
    return short_title(sentence)


# A title made from a sentence: at most this many characters, cut at a word, and not after a
# word that only leads to the next ("de", "the"), so it reads as a headline.
TITLE_CHARS = 60
_LEADING_WORDS = frozenset(
    "à au aux avec d dans de des du en et l la le les par pour qu que sur un une "
    "a an and by for in of on the to with".split()
)


def short_title(sentence: str) -> str:
    """``sentence`` as a title: whole if short, else cut at a word with "…".

    >>> short_title("Les investisseurs ont massivement investi dans les entreprises chinoises.")
    'Les investisseurs ont massivement investi…'
    >>> short_title("SenseTime en Bourse.")
    'SenseTime en Bourse.'
    """
    if len(sentence) <= TITLE_CHARS:
        return sentence
    words = sentence[: TITLE_CHARS + 1].rsplit(" ", 1)[0].split(" ")
    while len(words) > 1 and (
        re.split(r"['’]", words[-1].casefold().strip(",;:"))[0] in _LEADING_WORDS
        or words[-1].endswith(("'", "’"))
    ):
        words.pop()
    return " ".join(words).rstrip(",;: ") + "…"


def _size(n: int) -> str:
    """``_size(104_857_600)`` -> ``"104.9 MB"``, ``_size(20_000)`` -> ``"20 kB"``."""
    return f"{n / 1e6:,.1f} MB" if n >= 1e6 else f"{n / 1e3:,.0f} kB"


def _fingerprint(doc: Document) -> str:
    """What two copies of one article share: their content, whitespace folded."""
    content = " ".join(" ".join(doc.text[s:e] for s, e in doc.spans).split())
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


def _boilerplate_kind(line: str) -> str | None:
    """Which kind of boilerplate a stripped line is ("newsletter", "credit", ...), or None."""
    if not line or len(line) > _MAX_BOILERPLATE_LEN:
        return None
    norm = unicodedata.normalize("NFKD", line.replace("’", "'")).casefold()
    norm = " ".join("".join(c for c in norm if not unicodedata.combining(c)).split())
    for kind, rule in _RULES.items():
        if rule.search(norm):
            return kind
    words = re.findall(r"[^\W\d_]+", norm)
    if re.search(r"\d", norm) and len(norm) <= 60 and all(w in _DATE_WORDS for w in words):
        return "dateline"
    return None
