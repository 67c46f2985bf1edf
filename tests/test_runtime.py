"""The choice of llama.cpp's configuration: the rules on made-up trials, the verdict kept on
disk, and the probe run in a process of its own (on fake engines, tests/fake_engines.py).

Worked example: plain loads in 0.5 s and reads 95 prompt tokens a second, repacked loads in
2.7 s and reads 68: plain answers a typical question sooner and is chosen, as measured on this
project's AMD EPYC (docs/runtime.md).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rag import runtime
from rag.errors import ModelError
from rag.runtime import Machine, Trial, Verdict, choose, decide, record_crash, run_probe

SAME = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10)
HERE = Machine("x86_64", "Test CPU", 2, frozenset({"avx2", "avx512f", "amx_int8"}))


def trial(config: str, *, load: float = 0.5, prompt: float = 100, decode: float = 20,
          choices: tuple[int, ...] = SAME) -> Trial:  # fmt: skip
    return Trial(config, True, load_s=load, prompt_tps=prompt, decode_tps=decode, choices=choices)


def crashed(config: str) -> Trial:
    return Trial(config, False, "its process was killed by SIGSEGV (segmentation fault)")


@pytest.mark.parametrize(
    ("plain", "repacked", "chosen", "why"),
    [
        (trial("plain"), trial("repacked", prompt=300), "repacked", "both work"),
        (trial("plain", prompt=95), trial("repacked", load=2.7, prompt=68), "plain", "both work"),
        (trial("plain"), crashed("repacked"), "plain", "only plain works"),
        (crashed("plain"), trial("repacked"), "repacked", "only repacked works"),
        (trial("plain"), trial("repacked", prompt=300, choices=(0,) * 10), "plain", "another"),
    ],
)
def test_the_configuration_that_works_and_answers_sooner_is_chosen(
    plain: Trial, repacked: Trial, chosen: str, why: str
) -> None:
    config, reason = decide({"plain": plain, "repacked": repacked})
    assert config == chosen and why in reason


def test_a_few_next_tokens_may_differ_between_kernels() -> None:
    # 9 positions of 10 alike: the order of a sum flips a near-tie (0.97-0.98 measured).
    close = trial("repacked", prompt=300, choices=(*SAME[:9], 0))
    assert decide({"plain": trial("plain"), "repacked": close})[0] == "repacked"


def test_when_nothing_works_the_error_says_what_each_did() -> None:
    with pytest.raises(ModelError, match="any configuration.*plain: its process was killed"):
        decide({"plain": crashed("plain"), "repacked": crashed("repacked")})


@pytest.fixture
def model(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF")
    return path


def test_the_verdict_is_kept_and_tried_again_when_the_model_changes(
    model: Path, tmp_path: Path
) -> None:
    asked: list[str] = []

    def probe(config: str) -> Trial:
        asked.append(config)
        return trial(config, prompt=300 if config == "repacked" else 100)

    home = tmp_path / "home"
    first = choose(model, home, probe=probe, here=HERE)
    assert first.config == "repacked" and asked == ["plain", "repacked"]
    again = choose(model, home, probe=probe, here=HERE)
    assert again.config == "repacked" and again.trials == first.trials
    assert asked == ["plain", "repacked"]  # read from disk, not probed again
    model.write_bytes(b"GGUF, another one")
    choose(model, home, probe=probe, here=HERE)
    assert asked == ["plain", "repacked"] * 2


def test_a_forgotten_verdict_is_tried_again(model: Path, tmp_path: Path) -> None:
    asked: list[str] = []

    def probe(config: str) -> Trial:
        asked.append(config)
        return trial(config)

    home = tmp_path / "home"
    choose(model, home, probe=probe, here=HERE)
    assert runtime.forget(model, home, HERE) and not runtime.forget(model, home, HERE)
    choose(model, home, probe=probe, here=HERE)
    assert asked == ["plain", "repacked"] * 2


def test_a_damaged_verdict_is_tried_again(model: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    verdict = choose(model, home, probe=lambda c: trial(c), here=HERE)
    path = runtime.verdict_path(home, verdict.key)
    path.write_text('{"config": "fastest"', encoding="utf-8")
    again = choose(model, home, probe=lambda c: trial(c), here=HERE)
    assert Verdict.from_json(path.read_text(encoding="utf-8")).config == again.config


def test_a_crash_while_answering_switches_and_is_kept(model: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    verdict = choose(model, home, probe=lambda c: trial(c, prompt=300 * (c == "repacked") + 1))
    assert verdict.config == "repacked"
    after = record_crash(verdict, home, "was killed by SIGSEGV (segmentation fault)")
    assert after.config == "plain" and "repacked crashed while answering" in after.reason
    assert choose(model, home, probe=lambda c: pytest.fail("probed again")).config == "plain"
    with pytest.raises(ModelError, match="any configuration"):
        record_crash(after, home, "was killed by SIGSEGV (segmentation fault)")


def test_an_unwritable_home_still_chooses(model: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "runtime").write_text("a file where the folder should be")
    assert choose(model, home, probe=lambda c: trial(c), here=HERE).config in runtime.CONFIGS


def test_the_machine_is_read_from_the_system() -> None:
    here = runtime.machine()
    assert here.arch and here.cpu and here.cores >= 1
    if os.path.exists("/proc/cpuinfo") and here.arch in {"x86_64", "AMD64"}:
        assert "sse2" in here.flags


# -- the probe, in a process of its own ----------------------------------------------------
def test_a_probe_reads_the_speeds_and_choices_of_the_engine() -> None:
    found = run_probe({"path": "x"}, "repacked", engine="tests.fake_engines:Echo")
    assert found.ok and found.prompt_tps == 100 and found.choices == (1, 2, 3, 4)


def test_a_probe_that_crashes_or_fails_says_how() -> None:
    crash = run_probe({"path": "x"}, "repacked", engine="tests.fake_engines:CrashWhenRepacked")
    assert not crash.ok and "SIGSEGV" in crash.problem and "Segmentation fault" in crash.problem
    refused = run_probe({"path": "x"}, "plain", engine="tests.fake_engines:NotAModel")
    assert not refused.ok and "not a GGUF file" in refused.problem


def test_repacked_kernels_that_compute_something_else_are_not_chosen(
    model: Path, tmp_path: Path
) -> None:
    def probe(config: str) -> Trial:
        return run_probe(
            {"path": str(model)}, config, engine="tests.fake_engines:WrongWhenRepacked"
        )

    verdict = choose(model, tmp_path / "home", probe=probe, here=HERE)
    assert verdict.config == "plain" and "compute something else" in verdict.reason
