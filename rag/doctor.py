"""``rag doctor``: what someone needs to know when the local model misbehaves on a machine.

Each check is one line or a few, and a problem says what to do about it:

- the CPU, and the flags llama.cpp's kernels are chosen by;
- llama-cpp-python: its version and its build, as llama.cpp reports it (which kernels are in);
- the configuration chosen for this machine, and why (rag.runtime; tried now if never before);
- the model file: where it is, its size, and its sha256 against the packaged model's;
- the index of the corpus: documents, chunks, embedder, files checked;
- the readers: their versions, and whether scanned PDFs can be read (Tesseract);
- the saved prefix states (rag.prefix);
- the model's prompt and writing speed, measured now.

It reads and measures; the only things it may write are what the first question would too
(the assembled model file, the runtime choice, a prefix state). Not covered: the embedder's
speed and the remote backends (``openai:``), whose servers report on themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import RagError
from .index import load_index
from .models import MODELS, model_path
from .runtime import Machine, forget, machine
from .settings import Settings
from .storage import sha256_file
from .worker import DEFAULT_ENGINE

if TYPE_CHECKING:
    from .generation import LlamaCppGenerator


@dataclass
class Check:
    """One part of the report: a name, what was found, and the problems, each with a remedy."""

    name: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def checks(
    settings: Settings, corpus: Path, *, again: bool = False, engine: str = DEFAULT_ENGINE
) -> Iterator[Check]:
    """The checks in order; each is yielded as soon as it is done (some take seconds).
    ``again`` tries llama.cpp's configurations again rather than reading the saved choice;
    ``engine`` runs the model (rag.worker; tests give a fake)."""
    here = machine()
    yield cpu_check(here)
    local = settings.generator.partition(":")[0] == "llama-cpp"
    path = None
    if local:
        model = Check("Model")
        path = model_file(settings, model)
        yield model
    else:
        yield Check("Model", [f"generator {settings.generator}: not the local llama.cpp model"])
    if path is not None:
        if again:
            forget(path, settings.home_dir, here)
        yield from runtime_checks(settings, path, here, engine)
    yield index_check(settings, corpus)
    yield readers_check()


def readers_check() -> Check:
    """The readers' versions, and OCR: Tesseract and its languages, or how to add them."""
    from . import readers
    from .readers import ocr

    check = Check("Readers")
    for fmt in ("pdf", "docx", "html", "epub"):
        try:
            check.lines.append(readers.reader(fmt).version)
        except ImportError as exc:  # a library missing from this install
            check.problems.append(f"{fmt}: {exc}: reinstall with make install")
    if ocr.languages():
        check.lines.append(f"OCR of scanned pages: Tesseract {ocr.version()}")
    else:
        check.problems.append(f"scanned PDFs cannot be read: {ocr.INSTALL}")
    return check


def cpu_check(here: Machine) -> Check:
    flags = " ".join(here.notable) or "(none of those llama.cpp's kernels are chosen by)"
    if "avx2" in here.flags and not here.flags & {"amx_tile", "amx_int8"}:
        flags += " (no AMX)"
    return Check("CPU", [f"{here.cpu} ({here.arch}), {here.cores} cores", f"flags: {flags}"])


def model_file(settings: Settings, check: Check) -> Path | None:
    """The model file's path, size and checksum into ``check``; None if there is none."""
    _, _, given = settings.generator.partition(":")
    try:
        path = (
            Path(given).expanduser()
            if given
            else model_path(settings.model, settings.home_dir / "models")
        )
    except RagError as exc:
        check.problems.append(str(exc))
        return None
    if not path.is_file():
        check.problems.append(f"No model file at {path}: give the path of a .gguf file")
        return None
    digest = sha256_file(path)
    check.lines.append(f"{path}, {path.stat().st_size / 1e6:,.0f} MB")
    packaged = None if given else MODELS[settings.model]
    if packaged is None:
        check.lines.append(f"sha256 {digest[:16]}… (not a packaged model: nothing to compare)")
    elif digest == packaged.sha256:
        check.lines.append(f"sha256 {digest[:16]}…, the packaged {packaged.name}'s")
    else:
        check.problems.append(
            f"sha256 {digest[:16]}… is not the packaged {packaged.name}'s "
            f"({packaged.sha256[:16]}…): the file is damaged. Delete it, and the next "
            "question assembles it again"
        )
    return path


def runtime_checks(settings: Settings, path: Path, here: Machine, engine: str) -> Iterator[Check]:
    """llama.cpp's build, the configuration chosen, the prefix states and the speed, from a
    model process started as the pipeline starts it."""
    from .generation import LlamaCppGenerator

    build, chosen = Check("llama.cpp"), Check("Configuration")
    try:
        generator = LlamaCppGenerator(
            path,
            context_tokens=settings.context_tokens,
            threads=settings.threads,
            home=settings.home_dir,
            repack=settings.repack,
            engine=engine,
        )
        info = generator.info
    except RagError as exc:  # no configuration works, or the model process died loading
        chosen.problems.append(str(exc))
        yield chosen
        return
    try:
        features = build_features(str(info.get("system_info", "")))
        build.lines.append(f"llama-cpp-python {info.get('version', '?')}: " + " ".join(features))
        if "AMX_INT8" in features and "amx_int8" in here.flags:
            build.problems.append(
                "this build has llama.cpp's AMX kernels, which crash on some Xeons (docs/"
                "runtime.md); the configuration below avoids them if they do. `make "
                "rebuild-llama` builds llama-cpp-python without them"
            )
        yield build
        verdict = generator.verdict
        if verdict is None:
            chosen.lines.append(f"{'repacked' if info.get('repack') else 'plain'}, as set")
        else:
            tried = f", tried {verdict.when}" if verdict.when else ""
            chosen.lines += [f"{verdict.config}{tried}: {verdict.reason}"]
            chosen.lines += [t.summary() for t in verdict.trials.values()]
            chosen.lines += [f"crashed while answering: {c}" for c in verdict.crashes]
        chosen.lines.append(f"model loaded in {float(info.get('load_s', 0)):.1f} s")
        yield chosen
        yield prefix_check(settings.home_dir / "prefix")
        speed = Check("Speed")
        try:
            measured = generator.measure()
            speed.lines.append(
                f"prompt {measured['prompt_tps']:.0f} tokens/s, writing "
                f"{measured['decode_tps']:.1f} tokens/s (measured now)"
            )
            speed.lines += context_budgets(settings, generator)
        except RagError as exc:
            speed.problems.append(str(exc))
        yield speed
    finally:
        generator.close()


def context_budgets(settings: Settings, generator: LlamaCppGenerator) -> list[str]:
    """What answers size their context by on this machine (rag.budget), for a question in the
    documents' language and in another, with the characters per token of the probe's French
    and English prose."""
    from .budget import Budget
    from .llama import PROBE_TEXT
    from .pipeline import Pipeline

    tps, source = Pipeline(settings, generator=generator).reading_speed()
    ratio = len(PROBE_TEXT) / max(1, generator.count_tokens(PROBE_TEXT))
    same = Budget(settings.first_token_budget_s, tps, ratio, source)
    across = Budget(settings.first_token_budget_s_crosslingual, tps, ratio, source)
    return [
        f"context budget, question in the documents' language: {same.describe()}",
        f"context budget, question in another language: {across.describe()}",
    ]


def build_features(system_info: str) -> list[str]:
    """The kernels a llama.cpp build has, from its system info.

    >>> build_features("CPU : SSE3 = 1 | AVX512 = 1 | AMX_INT8 = 0 | REPACK = 1 | ")
    ['SSE3', 'AVX512', 'REPACK']
    """
    return re.findall(r"(\w+) = 1\b", system_info)


def prefix_check(folder: Path) -> Check:
    states = sorted(folder.glob("*.state")) if folder.is_dir() else []
    size = sum(p.stat().st_size for p in states) / 1e6
    return Check("Prefix states", [f"{len(states)} saved in {folder} ({size:.0f} MB)"])


def index_check(settings: Settings, corpus: Path) -> Check:
    from .pipeline import Pipeline

    check = Check("Index")
    if settings.index_url:
        return collection_check(settings.index_url, check)
    folder = Pipeline(settings.replace(corpus=corpus)).index_dir
    try:
        store = load_index(folder)
    except RagError as exc:
        check.problems.append(f"{exc}: the next question rebuilds it")
        return check
    if store is None:
        check.lines.append(f"none yet for {corpus} (the first question builds it)")
        return check
    m = store.manifest
    check.lines += [
        f"{folder}: {len(store.documents)} documents, {len(store.chunks)} chunks of {corpus}",
        f"embedder {m.get('embedder')}, {m.get('structure')} search; every file checked",
    ]
    return check


def collection_check(url: str, check: Check) -> Check:
    """The shared collection at ``url`` (rag.postgres): reachable, and what it holds."""
    from .postgres import open_collection, redact

    try:
        store = open_collection(url)
        m = store.manifest if store is not None else {}
    except RagError as exc:
        check.problems.append(str(exc))
        return check
    if store is None:
        check.lines.append(f"{redact(url)}: empty (the first question indexes the corpus)")
        return check
    check.lines += [
        f"{redact(url)}: {len(store.documents)} documents, {m.get('chunks')} chunks",
        f"embedder {m.get('embedder')}, {m.get('structure')} search (pgvector)",
    ]
    return check
