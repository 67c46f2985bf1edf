"""Tests for rag.documents: files -> Documents with content spans and titles.

Worked example: a file holding ``"Title\\n\\nBody.\\nNewsletter\\n"`` loads as a Document whose
text is that string unchanged, whose title is ``"Title"`` and whose only content span is
``(0, 12)``, i.e. ``"Title\\n\\nBody."``: the newsletter prompt is left out.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import logging
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rag.documents import content_spans, decode, find_title, load_documents, load_file
from rag.errors import CorpusError

CORPUS = Path(__file__).parent.parent / "rag" / "corpus"
FILE_000 = "000_77984f51074b5574.txt"
FILE_004 = "004_8fc970d9fd5bad57.txt"
CAPTION = (
    "Un panneau Alibaba est vu sur un bâtiment dans le district de Xuhui à Shanghai,"
    " le 21 février 2025."
)
# The oracle: every non-blank line of each corpus file that is not article content.
DROPPED = {
    FILE_000: [
        "sensetime",
        "Newsletter",
        "Envie de ne louper aucun de nos articles ? Abonnez vous pour recevoir chaque semaine"
        " les meilleurs actualités avant tout le monde.",
        "Cliquez pour commenter",
        "Laisser un commentaire",
        "Votre adresse e-mail ne sera pas publiée. Les champs obligatoires sont indiqués avec *",
    ],
    "001_91fa1b76b8366164.txt": [],
    "002_5b286bee8338b60a.txt": [
        "Vous voulez que votre projet soit présenté aux meilleurs esprits de la crypto ?"
        " Mettez-le en avant dans notre prochain rapport sectoriel, où les données rencontrent"
        " l'impact.",
    ],
    "003_fa2c6a669076a93a.txt": [],
    FILE_004: [
        "11:416/03/2025, jeudi",
        "AFP",
        CAPTION,
        "Crédit Photo : Hector RETAMAL / AFP",
        CAPTION,
        "À lire également:",
        "#Chine",
        "#HongKong",
        "#IA",
        "#économie",
        "#entreprises",
        "#internet",
        "#stockwatch",
        "#distribution",
        "#Jack Ma",
        "#Xi Jinping",
        "#Alibaba",
        "#intelligence artificielle",
        "#DeepSeek",
        "#QwQ-32B",
        "#Tencent",
        "#Yuanbao",
        "#Bourse de Hong Kong",
        "#secteur technologique chinois",
        "#régulation des géants du numérique",
        "#cloud computing",
        "#investissement IA",
        "#économie chinoise.",
    ],
}


def dropped_lines(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    """The non-blank lines of ``text`` that lie outside every span."""
    out, pos = [], 0
    for line in text.splitlines(keepends=True):
        start = pos + len(line) - len(line.lstrip())
        if line.strip() and not any(s <= start < e for s, e in spans):
            out.append(line.strip())
        pos += len(line)
    return out


def content(text: str, spans: tuple[tuple[int, int], ...]) -> str:
    return "\n".join(text[s:e] for s, e in spans)


# --- decoding -------------------------------------------------------------------------------

TEXT = "Été à Noël : œuvre, café, 5 €.\nDeuxième ligne.\n"


@pytest.mark.parametrize(
    "data",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        TEXT.encode("cp1252"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8-bom", "cp1252", "utf-16-le-bom", "utf-16-be-bom"],
)
def test_each_encoding_round_trips(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "a.txt").write_bytes(data)
    doc = load_file(tmp_path / "a.txt", tmp_path)
    assert doc.text == TEXT  # BOM gone, nothing else changed
    assert doc.sha256 == hashlib.sha256(data).hexdigest()


def test_latin1_accents_decode() -> None:
    assert decode("élève à Zürich".encode("latin-1")) == "élève à Zürich"


def test_text_is_not_normalised() -> None:
    text = "Titre\r\n\r\n  Un paragraphe.\tFin.  \r\n"
    assert decode(text.encode()) == text
    spans = content_spans(text)
    assert [text[s:e] for s, e in spans] == ["Titre\r\n\r\n  Un paragraphe.\tFin."]


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", bytes(range(32)) * 4])
def test_binary_is_rejected(data: bytes) -> None:
    with pytest.raises(CorpusError, match="binary"):
        decode(data)


# --- loading a folder -----------------------------------------------------------------------


def test_unreadable_files_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "good.txt").write_text("Un vrai texte.\n", encoding="utf-8")
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "blank.txt").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "locked.txt").write_text("Secret.", encoding="utf-8")
    read_bytes = Path.read_bytes

    def refuse_locked(self: Path) -> bytes:  # chmod does not stop root, so fake the refusal
        if self.name == "locked.txt":
            raise PermissionError(13, "Permission denied")
        return read_bytes(self)

    monkeypatch.setattr(Path, "read_bytes", refuse_locked)
    with caplog.at_level(logging.WARNING, logger="rag"):
        docs = load_documents(tmp_path)
    assert [d.id for d in docs] == ["good.txt"]
    warnings = {r.getMessage() for r in caplog.records if r.name == "rag"}
    assert any("image.txt" in m and "PNG image" in m for m in warnings)
    assert any("empty.md" in m and "empty" in m for m in warnings)
    assert any("blank.txt" in m and "empty" in m for m in warnings)
    assert any("locked.txt" in m and "Permission denied" in m for m in warnings)


def test_missing_folder_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match=r"does not exist: pass a folder of documents"):
        load_documents(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"not a folder: pass a folder of documents"):
        load_documents(tmp_path / "file.txt")


def test_folder_with_nothing_readable(tmp_path: Path) -> None:
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4")  # truncated after its first line
    (tmp_path / "bin.txt").write_bytes(b"\0\1\2\3")
    with pytest.raises(CorpusError, match=r"holds no readable document \(\.txt, \.md, \.pdf"):
        load_documents(tmp_path)


def test_ids_are_relative_posix_and_sorted(tmp_path: Path) -> None:
    for rel in ["b.txt", "sub/deep/a.md", "A.TXT", ".hidden.txt", ".git/x.txt", "c.pdf"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"Texte de {rel}.", encoding="utf-8")
    docs = load_documents(tmp_path)
    assert [d.id for d in docs] == ["A.TXT", "b.txt", "sub/deep/a.md"]
    assert [d.id for d in load_documents(str(tmp_path))] == [d.id for d in docs]
    assert docs[2].source == str(tmp_path / "sub" / "deep" / "a.md")
    assert Path(docs[2].source).is_absolute()


# --- content spans and titles on the real corpus ---------------------------------------------


@pytest.mark.parametrize("name", sorted(DROPPED))
def test_corpus_drops_exactly_the_boilerplate(name: str) -> None:
    doc = load_file(CORPUS / name, CORPUS)
    assert dropped_lines(doc.text, doc.spans) == DROPPED[name]
    for start, end in doc.spans:
        assert doc.text[start:end] == doc.text[start:end].strip()


def test_corpus_000_and_004_content() -> None:
    docs = {d.id: d for d in load_documents(CORPUS)}
    assert len(docs) == 5
    kept = content(docs[FILE_000].text, docs[FILE_000].spans)
    assert kept.startswith("Intelligence artificielle : Le succès en Bourse")
    assert kept.endswith("une superpuissance technologique autosuffisante.")
    assert "Newsletter" not in kept and "commentaire" not in kept
    kept = content(docs[FILE_004].text, docs[FILE_004].spans)
    for noise in ["AFP", "Crédit Photo", "panneau Alibaba", "#", "lire également", "11:41"]:
        assert noise not in kept
    for heading in ["Alibaba se positionne face à DeepSeek", "Un climat favorable à la tech"]:
        assert heading in kept
    assert '"comparables"' in kept


@pytest.mark.parametrize(
    ("name", "title"),
    [
        (
            FILE_000,
            "Intelligence artificielle : Le succès en Bourse du leader chinois SenseTime"
            " ne se dément pas",
        ),
        (FILE_004, "IA: l'action Alibaba bondit après son lancement d'un rival à DeepSeek"),
        (
            "001_91fa1b76b8366164.txt",
            "SenseTime, autrefois le chouchou du secteur chinois…",
        ),
        ("002_5b286bee8338b60a.txt", "Les investisseurs ont massivement investi…"),
        (
            "003_fa2c6a669076a93a.txt",
            "Le groupe chinois géant Alibaba a annoncé lundi qu’il allait…",
        ),
    ],
)
def test_corpus_titles(name: str, title: str) -> None:
    assert load_file(CORPUS / name, CORPUS).title == title


# --- content spans and titles on small texts --------------------------------------------------


def test_docstring_example(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("Title\n\nBody.\nNewsletter\n", encoding="utf-8")
    doc = load_file(tmp_path / "a.txt", tmp_path)
    assert (doc.title, doc.spans, doc.text) == ("Title", ((0, 12),), "Title\n\nBody.\nNewsletter\n")


@pytest.mark.parametrize(
    "noise",
    [
        "Subscribe to our newsletter",
        "Sign up for our daily briefing",
        "Leave a comment",
        "Your email address will not be published. Required fields are marked *",
        "Laissez un commentaire",
        "12 commentaires",
        "Photo credit: Jane Doe / Reuters",
        "© AFP",
        "Photo: Reuters",
        "Crédits photo : DR",
        "Read also: Why chips matter",
        "Read more",
        "Lire aussi : la Chine et l'IA",
        "Share this:",
        "Partager sur Facebook",
        "#AI #Tech #Nvidia",
        "Reuters",
        "Par AFP",
        "Publié le jeudi 6 mars 2025 à 11h41",
        "Updated 5 min read",
        "Inscrivez-vous à notre newsletter",
        "Publicité",
    ],
)
def test_boilerplate_line_is_left_out(noise: str) -> None:
    text = f"First paragraph here.\n\n{noise}\n\nSecond paragraph here."
    assert [text[s:e] for s, e in content_spans(text)] == [
        "First paragraph here.",
        "Second paragraph here.",
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Dépenses record",
        "Un climat favorable à la tech chinoise",
        "# Markdown heading",
        "Photographers said the share price doubled.",
        "Reportage supplémentaire de H. Lockett",
        "Le 6 mars 2025, 2 000 emplois ont été supprimés.",
        "Newsletters are a growing business for French media, according to the report.",
        "AFP a confirmé l'information.",
    ],
)
def test_content_line_is_kept(line: str) -> None:
    text = f"First paragraph here.\n\n{line}\n\nSecond paragraph here."
    assert content_spans(text) == ((0, len(text)),)


def test_repeated_caption_around_a_credit_is_left_out() -> None:
    text = "Body one.\nA sign in Shanghai.\nPhoto credit: AFP\nA sign in Shanghai.\nBody two."
    assert [text[s:e] for s, e in content_spans(text)] == ["Body one.", "Body two."]


def test_slug_is_dropped_only_at_the_top() -> None:
    assert content_spans("sensetime\n\nBody.") == ((11, 16),)
    assert content_spans("sensetime") == ((0, 9),)  # the whole text is not a slug
    assert content_spans("Body.\n\nsensetime") == ((0, 16),)


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("# Ma note\n\nCorps du texte.", "Ma note"),
        ("## Notes ##\nCorps.", "Notes"),
        ("Titre court\nUn paragraphe plus long qui suit le titre.", "Titre court"),
        ("Une phrase complète.\n\nSuite.", "Une phrase complète."),
        (
            "a wrapped first line that does not end\nwith a period, then goes on and on here.",
            "a wrapped first line that does not end with a period, then…",
        ),
        (
            "Cette phrase est bien trop longue pour servir de titre, elle continue encore et "
            "encore jusqu'au bout. Deuxième.",
            "Cette phrase est bien trop longue pour servir de titre, elle…",
        ),
    ],
)
def test_find_title(text: str, title: str) -> None:
    assert find_title(text, content_spans(text), "stem") == title


def test_find_title_falls_back_to_the_stem() -> None:
    assert find_title("", (), "000_x") == "000_x"


# --- properties -----------------------------------------------------------------------------

LINES = st.sampled_from(
    [
        "",
        " ",
        "Newsletter",
        "#IA",
        "AFP",
        "Photo: X",
        "Cap.",
        "sensetime",
        "Un paragraphe.",
        "# Titre",
        "\r",
        "\t",
    ]
) | st.text(max_size=40)


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(st.text() | st.lists(LINES, max_size=12).map("\n".join))
def test_spans_are_sorted_disjoint_and_trimmed(text: str) -> None:
    spans = content_spans(text)
    ends = [0]
    for start, end in spans:
        assert ends[-1] <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()
        ends.append(end)
    assert find_title(text, spans, "stem")


@settings(max_examples=300, derandomize=True, database=None, deadline=None)
@given(
    st.binary()
    | st.tuples(
        st.sampled_from(
            [codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_LE]
        ),
        st.binary(),
    ).map(b"".join)
)
def test_decode_raises_only_corpus_error(data: bytes) -> None:
    with contextlib.suppress(CorpusError):  # any other exception fails the test
        assert isinstance(decode(data), str)
