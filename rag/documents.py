"""Files -> Documents: find .txt/.md files, decode them, and mark what is article content.

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

Files over ``MAX_FILE_BYTES`` and second copies of an article are skipped with a warning.
Left out: PDF/HTML parsing, language detection, and guessing encodings beyond UTF-8/16/32
with a BOM, plain UTF-8 and cp1252 (the usual encodings of French and English web text).
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import re
import unicodedata
from pathlib import Path

from rag.errors import CorpusError
from rag.types import Document

SUFFIXES = (".txt", ".md")
# A news article is 5-50 kB. A 100 MB file is ~210,000 chunks: a minute to load, chunk and
# index with a trivial embedder, hours with a real one (docs/robustness.md). Bigger files are
# skipped; raise this to index them anyway.
MAX_FILE_BYTES = 10_000_000
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


def load_documents(folder: str | Path, *, max_bytes: int | None = None) -> list[Document]:
    """Load every readable .txt/.md file under ``folder``, sorted by relative path.

    Unreadable files, files over ``max_bytes`` (default ``MAX_FILE_BYTES``) and later copies
    of an article already loaded (same content, whatever the encoding or boilerplate) are
    skipped with a warning. ``load_documents("rag/corpus")[0].id`` ->
    ``"000_77984f51074b5574.txt"``.
    """
    root = Path(folder).absolute()
    if not root.exists():
        raise CorpusError(
            f"corpus folder {folder} does not exist: pass a folder of .txt or .md files"
        )
    if not root.is_dir():
        raise CorpusError(f"{folder} is not a folder: pass a folder of .txt or .md files")
    paths = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]  # .git, .venv, ...
        paths += [
            Path(dirpath, name)
            for name in filenames
            if not name.startswith(".") and Path(name).suffix.lower() in SUFFIXES
        ]
    documents = []
    first_with: dict[str, str] = {}  # content fingerprint -> id of the first file holding it
    for path in sorted(paths, key=lambda p: p.relative_to(root).as_posix()):
        try:
            doc = load_file(path, root, max_bytes=max_bytes)
        except CorpusError as exc:
            log.warning("skipping %s", exc)
            continue
        key = _fingerprint(doc)
        if key in first_with:
            log.warning("skipping %s: same article as %s, indexed once", doc.id, first_with[key])
            continue
        first_with[key] = doc.id
        documents.append(doc)
    if not documents:
        raise CorpusError(
            f"{folder} holds no readable .txt or .md file: add UTF-8 text files "
            "(warnings name any file that was skipped and why)"
        )
    return documents


def load_file(path: Path, root: Path, *, max_bytes: int | None = None) -> Document:
    """Read one file into a Document whose ``id`` is its path relative to ``root``.

    ``load_file(Path("c/sub/a.md"), Path("c")).id`` -> ``"sub/a.md"``. Raises CorpusError
    if the file cannot be read, is over ``max_bytes`` (default ``MAX_FILE_BYTES``; checked
    before reading), is binary or holds no content.
    """
    path, root = Path(path).absolute(), Path(root).absolute()
    doc_id = path.relative_to(root).as_posix()
    limit = MAX_FILE_BYTES if max_bytes is None else max_bytes
    try:
        size = path.stat().st_size
        if size > limit:
            raise CorpusError(
                f"is {_size(size)}, over the {_size(limit)} limit per file: split it into "
                "smaller files (one per article) or raise rag.documents.MAX_FILE_BYTES"
            )
        data = path.read_bytes()
        text = decode(data)
    except OSError as exc:
        raise CorpusError(f"{doc_id}: cannot be read ({exc.strerror or exc})") from exc
    except CorpusError as exc:
        raise CorpusError(f"{doc_id}: {exc}") from exc
    spans = content_spans(text)
    if not spans:
        why = "holds only boilerplate" if text.strip() else "is empty"
        raise CorpusError(f"{doc_id}: {why}, nothing to index")
    return Document(
        id=doc_id,
        source=str(path),
        title=find_title(text, spans, path.stem),
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        spans=spans,
    )


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
