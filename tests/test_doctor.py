"""``rag doctor`` on a fake model engine (tests/fake_engines.py): every check reports, a
problem says what to do, and the exit status says whether there was one.

Worked example: with RAG_GENERATOR=llama-cpp:/missing.gguf, the report says "No model file at
/missing.gguf" and ``rag doctor`` exits with 1.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.budget import Budget
from rag.cli import main
from rag.doctor import checks, readers_check
from rag.readers import ocr
from rag.settings import Settings
from tests.conftest import CORPUS

ECHO = "tests.fake_engines:Echo"


def test_every_check_reports_on_a_working_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "languages", lambda: ("fra", "eng"))
    monkeypatch.setattr(ocr, "version", lambda: "5.3.0-fra+eng")
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF fake")
    settings = Settings(home=tmp_path / "home", generator=f"llama-cpp:{model}")
    found = {c.name: c for c in checks(settings, CORPUS, engine=ECHO)}
    assert list(found) == [
        "CPU", "Model", "llama.cpp", "Configuration", "Prefix states", "Speed", "Index",
        "Readers",
    ]  # fmt: skip
    assert not any(c.problems for c in found.values()), {k: c.problems for k, c in found.items()}
    assert "not a packaged model" in " ".join(found["Model"].lines)
    assert found["Configuration"].lines[0].startswith("plain, tried 20")
    assert "both work" in found["Configuration"].lines[0]
    assert found["Speed"].lines[0] == "prompt 100 tokens/s, writing 10.0 tokens/s (measured now)"
    # The context's budgets, at the speed measured when the configurations were tried.
    same, across = found["Speed"].lines[1:]
    assert (
        same
        == "context budget, question in the documents' language: "
        + Budget(settings.first_token_budget_s, 100.0).describe()
    )
    assert (
        across
        == "context budget, question in another language: "
        + Budget(settings.first_token_budget_s_crosslingual, 100.0).describe()
    )
    assert "none yet" in found["Index"].lines[0]
    assert found["Readers"].lines[0].startswith("pdf-2 pypdfium2-")
    assert found["Readers"].lines[-1] == "OCR of scanned pages: Tesseract 5.3.0-fra+eng"
    # --again: the configurations are tried anew, and the choice saved anew.
    [saved] = (settings.home_dir / "runtime").glob("*.json")
    before = saved.stat().st_mtime_ns
    again = {c.name: c for c in checks(settings, CORPUS, again=True, engine=ECHO)}
    assert "both work" in again["Configuration"].lines[0]
    assert saved.stat().st_mtime_ns != before


def test_the_doctor_says_how_much_context_this_machines_speed_affords(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF fake")
    settings = Settings(
        home=tmp_path / "home", generator=f"llama-cpp:{model}", first_token_budget_s=2.0
    )
    found = {c.name: c for c in checks(settings, CORPUS, engine="tests.fake_engines:Reader")}
    line = found["Speed"].lines[1]
    assert line.startswith("context budget, question in the documents' language: 2 s to read")
    # The speed answers read at, timed through the model process (1,000 words a second at
    # most, less its overheads), not the 2,000 its probe says from an empty prompt.
    speed = re.search(r"at (\d+) tokens/s \(timed reading after the prompt's fixed part\)", line)
    tokens = re.search(r"about (\d+) tokens", line)
    assert speed and tokens and 500 < int(speed[1]) <= 1000, line
    assert abs(int(tokens[1]) - 2 * int(speed[1])) <= 1  # 2 s of it


def test_no_ocr_is_a_problem_that_says_how_to_add_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "languages", lambda: ())
    [problem] = readers_check().problems
    assert problem.startswith("scanned PDFs cannot be read") and "apt install tesseract" in problem


def test_a_model_that_cannot_start_is_a_problem_with_its_cause(tmp_path: Path) -> None:
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF fake")
    settings = Settings(home=tmp_path / "home", generator=f"llama-cpp:{model}")
    found = {c.name: c for c in checks(settings, CORPUS, engine="tests.fake_engines:CrashOnLoad")}
    [problem] = found["Configuration"].problems
    assert "any configuration" in problem and "SIGSEGV" in problem


def test_the_command_exits_with_1_when_something_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RAG_GENERATOR", f"llama-cpp:{tmp_path / 'missing.gguf'}")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "No model file at" in out and "1 problem(s) found" in out
    assert out.startswith("CPU")
