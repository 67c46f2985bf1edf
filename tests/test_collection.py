"""Adding to and removing from a folder of documents (the chat's uploads).

Worked example: uploading "../../Rapport <b>été</b>.MD" into a folder that already holds
"Rapport_b_été_b.md" stores it as "Rapport_b_été_b-2.md" and leaves the first file as it
was; removing it moves it to ".removed/", where the loader does not look.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag.collection import REMOVED, add_file, remove_file, safe_name, seed
from rag.documents import load_documents
from rag.errors import CorpusError

TEXT = b"Titre\n\nUn article assez court sur SenseTime.\n"


@pytest.mark.parametrize(
    ("name", "clean"),
    [
        ("notes.txt", "notes.txt"),
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\a\\Mémo final.MD", "Mémo_final.md"),
        (".hidden.txt", "hidden.txt"),
        ("<script>alert(1)</script>.txt", "script.txt"),  # "/" ends a folder name
        ("....txt", "document.txt"),
        ("a" * 300 + ".md", "a" * 97 + ".md"),
    ],
)
def test_names_are_made_safe(name: str, clean: str) -> None:
    assert safe_name(name) == clean


@pytest.mark.parametrize("name", ["slides.pptx", "archive.tar.gz", "noextension", "x.txt.exe"])
def test_other_types_are_refused(name: str) -> None:
    with pytest.raises(CorpusError, match="not a file of a type we read"):
        safe_name(name)


def test_an_upload_never_replaces_a_file(tmp_path: Path) -> None:
    first = add_file(tmp_path, "a.txt", TEXT)
    second = add_file(tmp_path, "a.txt", TEXT.replace(b"SenseTime", b"MiniMax"))
    assert (first.name, second.name) == ("a.txt", "a-2.txt")
    assert first.read_bytes() == TEXT and b"MiniMax" in second.read_bytes()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"),
        (b"x" * 2000, "over the 1 kB limit"),
    ],
)
def test_a_bad_upload_writes_nothing(tmp_path: Path, data: bytes, why: str) -> None:
    (tmp_path / "kept.txt").write_bytes(TEXT)
    with pytest.raises(CorpusError, match=why) as error:
        add_file(tmp_path, "new.txt", data, max_bytes=1000 if len(data) > 1000 else None)
    assert ".upload-" not in str(error.value)  # the message names the file as uploaded
    assert sorted(os.listdir(tmp_path)) == ["kept.txt"]


def test_removing_moves_the_file_aside(tmp_path: Path) -> None:
    add_file(tmp_path, "a.txt", TEXT)
    add_file(tmp_path, "b.txt", TEXT.replace(b"SenseTime", b"Zhipu"))
    moved = remove_file(tmp_path, "a.txt")
    assert moved == tmp_path / REMOVED / "a.txt" and moved.read_bytes() == TEXT
    assert [d.id for d in load_documents(tmp_path)] == ["b.txt"]
    add_file(tmp_path, "a.txt", TEXT)
    assert remove_file(tmp_path, "a.txt").name == "a-2.txt"  # the first removal is kept


@pytest.mark.parametrize("doc_id", ["missing.txt", "../outside.txt", ".removed", ""])
def test_removing_what_is_not_there_is_an_error(tmp_path: Path, doc_id: str) -> None:
    (tmp_path.parent / "outside.txt").write_bytes(TEXT)
    folder = tmp_path / "docs"
    folder.mkdir()
    with pytest.raises(CorpusError, match="No document"):
        remove_file(folder, doc_id)
    assert (tmp_path.parent / "outside.txt").exists()


def test_seed_copies_once(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "a.txt").write_bytes(TEXT)
    (source / "image.png").write_bytes(b"\x89PNG")
    folder = seed(tmp_path / "work", source)
    assert sorted(os.listdir(folder)) == ["a.txt"]
    (folder / "a.txt").unlink()
    seed(tmp_path / "work", source)  # an existing collection is left as the user left it
    assert os.listdir(folder) == []
