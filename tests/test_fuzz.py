"""Property-based tests (hypothesis): the citation checker and the document loader on
arbitrary input.

Worked example: over two passages, ``check("A [2]. B [9][1]")`` drops ``[9]`` (no passage 9)
and keeps ``"A [2]. B[1]"``: every marker left points to a passage, and the text with markers
and spaces removed is ``"A.B"`` before and after, so nothing but markers went. Likewise any
bytes written to ``a.txt`` load as a Document whose spans lie inside its text, or raise a
CorpusError that says why; never anything else.

Examples are derandomized and no database is written, so a run is repeatable and leaves no
files behind; the whole file takes a few seconds.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.chunking import chunk_document
from rag.citations import check, parse_markers, repair
from rag.documents import decode, load_documents, load_file
from rag.errors import CorpusError
from rag.excerpts import MAX_EXCERPTS, excerpts, quoted
from rag.refusals import is_refusal
from rag.text import detect_language, names_in, numbers_in
from rag.types import Chunk, Passage

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None)
ON_DISK = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # a fresh folder per example
)

# --- citations --------------------------------------------------------------------------------

MARKERISH = st.sampled_from(
    [
        "[1]",
        "[2, 3]",
        "[1-4]",
        "[3–1]",
        "[1;2]",
        "[ 2 ]",
        "【3】",
        "[0]",
        "[7]",
        "[99]",
        "[1-999999]",
        "[[9]5]",
        "[",
        "]",
        "【",
        "】",
        "-",
        ",",
        "1",
        "42",
        ". ",
        "! ",
        "\n",
        "\t",
        " ",
        "- ",
        "SenseTime",
        "30,6 milliards",
        "2 000",
        "U.S.",
        "M. ",
        "Les documents ne le disent pas.",
    ]
)
ANSWERS = st.lists(st.one_of(st.text(max_size=12), MARKERISH), max_size=40).map("".join)
PASSAGE_TEXTS = st.sampled_from(
    [
        "SenseTime vaut 30,6 milliards de dollars.",
        "Alibaba investira 380 milliards de yuans, selon Pékin.",
        "M. Xu Li dirige SenseTime depuis 2014.",
    ]
) | st.text(min_size=1, max_size=60)
PASSAGES = st.lists(PASSAGE_TEXTS, max_size=4).map(
    lambda texts: [
        Passage(Chunk(f"d{i}#0", f"d{i}", f"/c/d{i}", f"T{i}", t, 10, 10 + len(t)), 1.0, i)
        for i, t in enumerate(texts)
    ]
)
_MARKER = re.compile(r"[\[【]\s*\d{1,9}(?:\s*[-–—,;]\s*\d{1,9})*\s*[\]】]")


def bare(text: str) -> str:
    """The text without its markers (removed until none is left) and without spaces."""
    while (new := _MARKER.sub("", text)) != text:
        text = new
    return "".join(text.split())


@FAST
@given(ANSWERS)
def test_parse_markers_never_raises(text: str) -> None:
    numbers = parse_markers(text)
    assert all(isinstance(n, int) and n >= 0 for n in numbers)
    if not re.search(r"[\[【]", text):
        assert numbers == []


@FAST
@given(ANSWERS, PASSAGES)
def test_check_keeps_only_markers_of_passages_and_loses_no_text(
    text: str, passages: list[Passage]
) -> None:
    k = len(passages)
    checked = check(text, passages)
    assert all(1 <= n <= k for n in parse_markers(checked.text))
    assert all(not 1 <= n <= k for n in checked.invalid)
    assert [c.n for c in checked.citations] == sorted(set(parse_markers(checked.text)))
    for c in checked.citations:  # each quotes its passage, offsets included
        chunk = passages[c.n - 1].chunk
        assert (c.doc_id, c.text, c.start, c.end) == (
            chunk.doc_id,
            chunk.text,
            chunk.start,
            chunk.end,
        )
    assert all(1 <= n <= k for s in checked.sentences for n in s.citations)
    assert bare(checked.text) == bare(text)  # only markers went
    assert check(checked.text, passages).text == checked.text  # and the result is stable


@FAST
@given(ANSWERS, PASSAGES)
def test_repair_moves_markers_but_never_text(text: str, passages: list[Passage]) -> None:
    repaired = repair(text, passages)
    assert all(1 <= n <= len(passages) for n in parse_markers(repaired))
    assert bare(repaired) == bare(text)


@FAST
@given(ANSWERS, PASSAGES, ANSWERS)
def test_excerpts_quote_only_passage_text_and_check_as_backed(
    draft: str, passages: list[Passage], question: str
) -> None:
    chosen = excerpts(draft, passages, question)
    assert len(chosen) <= MAX_EXCERPTS
    for e in chosen:  # word for word from the passage it cites
        assert 1 <= e.n <= len(passages) and e.sentence in passages[e.n - 1].chunk.text
    if chosen:
        checked = check(quoted(chosen, "en"), passages)
        assert sorted({e.n for e in chosen}) == [c.n for c in checked.citations]
        assert all(s.supported for s in checked.sentences), checked


@FAST
@given(ANSWERS)
def test_text_helpers_never_raise(text: str) -> None:
    assert detect_language(text) in {"fr", "en"}
    assert isinstance(is_refusal(text), bool)
    assert isinstance(numbers_in(text), set) and isinstance(names_in(text), set)


REPLY_LIMIT = 5_000  # characters; max_new_tokens=320 writes about 1,500


@pytest.mark.parametrize(
    "unit",
    ["[[", "[1", "【1", "1, ", ". ", "M. ", "[1-2]", "x [1]\n", "ne le pas ", "2 000 ", "A-"],
)
def test_worst_case_replies_are_checked_quickly(unit: str) -> None:
    """Repeated to the longest reply the model can write, and past it; ``[[`` nests markers
    (``[[[9]5]5]``), the checker's one quadratic case."""
    text = (unit * REPLY_LIMIT)[: REPLY_LIMIT // 2]
    if unit == "[[":
        text += "9]5]" * (REPLY_LIMIT // 8)
    passages = [Passage(Chunk("c", "d", "d", "T", "SenseTime vaut 30,6.", 0, 20), 1.0, 0)]
    started = time.perf_counter()
    check(repair(text, passages), passages)
    assert time.perf_counter() - started < 2


# --- documents --------------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
# Printable text: no control characters (those make a file binary, tested below).
TEXT = st.text(st.characters(exclude_categories=["Cc", "Cs"]), max_size=200)
CP1252 = st.text(
    st.characters(codec="cp1252", exclude_categories=["Cc"]) | st.sampled_from("éèàçô€’«»œ"),
    max_size=100,
)


def assert_well_formed(doc_text: str, spans: tuple[tuple[int, int], ...]) -> None:
    ends = [0]
    for start, end in spans:
        assert ends[-1] <= start < end <= len(doc_text)
        assert doc_text[start:end] == doc_text[start:end].strip()
        ends.append(end)


@FAST
@given(TEXT, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32"]))
def test_text_with_a_bom_or_in_utf8_decodes_to_itself(text: str, encoding: str) -> None:
    data = text.encode(encoding)
    if encoding == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert decode(data) == _INVISIBLE.sub("", text)


@FAST
@given(CP1252)
def test_cp1252_decodes_unless_it_is_valid_utf8(text: str) -> None:
    data = text.encode("cp1252")
    try:
        expected = data.decode("utf-8")  # UTF-8 comes first: "Ã©" in cp1252 is "é" in UTF-8
    except UnicodeDecodeError:
        expected = text
    assert decode(data) == _INVISIBLE.sub("", expected)


@FAST
@given(st.text(st.characters(categories=["Cc"], exclude_characters="\t\n\r\f\v"), min_size=1))
def test_control_characters_make_a_file_binary(text: str) -> None:
    with pytest.raises(CorpusError, match="binary data"):
        decode(("Un peu de texte. " + text * 20).encode())


LINES = st.sampled_from(["Titre", "Newsletter", "#IA", "Photo: AFP", "\u200b", "Texte."]) | TEXT
ENCODED = st.tuples(
    st.sampled_from(
        [
            (codecs.BOM_UTF8, "utf-8"),
            (codecs.BOM_UTF16_LE, "utf-16-le"),
            (codecs.BOM_UTF16_BE, "utf-16-be"),
            (b"", "utf-8"),
            (b"", "cp1252"),
        ]
    ),
    st.lists(LINES, max_size=8).map("\n".join),
).map(lambda t: t[0][0] + t[1].encode(t[0][1], errors="replace"))
BYTES = st.one_of(st.binary(max_size=300), ENCODED)


@ON_DISK
@given(BYTES)
def test_any_bytes_load_as_a_document_or_a_clear_error(tmp_path: Path, data: bytes) -> None:
    folder = tmp_path / uuid.uuid4().hex
    folder.mkdir()
    (folder / "a.txt").write_bytes(data)
    try:
        doc = load_file(folder / "a.txt", folder)
    except CorpusError as exc:
        assert str(exc).startswith("a.txt: ")
        return
    assert doc.id == "a.txt" and doc.text == decode(data)
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.spans and doc.title and "\n" not in doc.title
    assert_well_formed(doc.text, doc.spans)
    for chunk in chunk_document(doc, size=80, overlap=20):
        assert doc.text[chunk.start : chunk.end] == chunk.text and chunk.text.strip()
        assert any(s <= chunk.start and chunk.end <= e for s, e in doc.spans)


NAMES = st.sampled_from(
    ["a.txt", "b.md", "C.TXT", "été 2025.txt", "日本.txt", "sub/x.txt", ".hidden.txt", "d.pdf"]
)


@ON_DISK
@given(st.dictionaries(NAMES, BYTES, max_size=6))
def test_a_folder_of_anything_keeps_its_good_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, files: dict[str, bytes]
) -> None:
    folder = tmp_path / uuid.uuid4().hex
    (folder / "sub").mkdir(parents=True)
    (folder / "0_good.txt").write_text("Un article qui se lit bien.", encoding="utf-8")
    for name, data in files.items():
        (folder / name).write_bytes(data)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rag"):
        docs = load_documents(folder)
    ids = [d.id for d in docs]
    assert ids[0] == "0_good.txt" and ids == sorted(ids)
    assert set(ids) <= {"0_good.txt"} | {n for n in files if not n.startswith(".")}
    assert not {"d.pdf", ".hidden.txt"} & set(ids)
    skipped = {n for n in files if n.endswith((".txt", ".md", ".TXT")) and not n.startswith(".")}
    for name in skipped - set(ids):  # each file left out is named in a warning
        assert any(r.getMessage().startswith(f"skipping {name}: ") for r in caplog.records), name
    for doc in docs:
        assert_well_formed(doc.text, doc.spans)
