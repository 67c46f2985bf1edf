"""The model process: requests and replies over its pipes, and what a crash there looks like
from here. The engines are fakes (tests/fake_engines.py) that crash for real: a segmentation
fault at address 0, in the child, while this process carries on.

Worked example: an Echo engine streams "a ", "b " for a last message "a b", then a ``done``
with its token counts; an engine that segfaults after its first piece raises ModelCrashed
here, "was killed by SIGSEGV", with the child's faulthandler traceback as its last words.
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from rag.errors import ModelCrashed, ModelError
from rag.generation import LlamaCppGenerator
from rag.worker import ModelProcess

ECHO = "tests.fake_engines:Echo"


def fake(name: str) -> str:
    return f"tests.fake_engines:{name}"


def generate(text: str, **extra: object) -> dict[str, object]:
    return {"op": "generate", "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "model.gguf"
    path.write_bytes(b"GGUF fake")
    return path


def test_a_request_streams_pieces_then_its_counts() -> None:
    process = ModelProcess({"path": "x"}, engine=ECHO)
    try:
        assert process.wait_ready()["system_info"] == "FAKE"
        replies = list(process.call(generate("a b")))
        assert replies[:2] == [{"piece": "a "}, {"piece": "b "}]
        assert replies[2]["done"]["completion_tokens"] == 2
        assert next(process.call({"op": "count", "text": "un deux trois"}))["done"] == {"tokens": 3}
    finally:
        process.close()
    assert not process.alive


def test_a_crash_while_answering_is_an_error_here_with_the_cause() -> None:
    process = ModelProcess({"path": "x", "repack": True}, engine=fake("CrashAnsweringWhenRepacked"))
    process.wait_ready()
    pieces = []
    with pytest.raises(ModelCrashed) as caught:
        for message in process.call(generate("a b c")):
            pieces.append(message)
    assert pieces == [{"piece": "a "}]  # what came before the crash still came
    crash = caught.value
    assert crash.native and "SIGSEGV" in crash.status
    assert any("Segmentation fault" in line for line in crash.last_words), crash.last_words
    assert not process.alive


def test_a_crash_while_loading_and_a_refused_file_are_errors_here() -> None:
    with pytest.raises(ModelCrashed, match="SIGSEGV.*loading"):
        ModelProcess({"path": "x"}, engine=fake("CrashOnLoad")).wait_ready()
    with pytest.raises(ModelError, match="not a GGUF file"):
        ModelProcess({"path": "x"}, engine=fake("NotAModel")).wait_ready()


def test_a_kill_from_outside_is_not_taken_for_a_fault_of_the_model() -> None:
    process = ModelProcess({"path": "x", "delay": 5}, engine=ECHO)
    process.wait_ready()
    stream = process.call(generate("a b c"))
    assert next(stream) == {"piece": "a "}
    process._child.send_signal(signal.SIGKILL)
    with pytest.raises(ModelCrashed) as caught:
        next(stream)
    assert not caught.value.native and "SIGKILL" in caught.value.status


def test_a_stream_closed_early_is_cancelled_and_the_next_request_is_answered() -> None:
    process = ModelProcess({"path": "x", "delay": 0.2}, engine=ECHO)
    try:
        process.wait_ready()
        stream = process.call(generate(" ".join(["mot"] * 50)))
        assert next(stream) == {"piece": "mot "}
        stream.close()  # cancels: the child stops long before its 50 words (10 s)
        replies = list(process.call(generate("fin")))
        assert replies == [{"piece": "fin "}, replies[-1]] and "done" in replies[-1]
    finally:
        process.close()


def test_an_unknown_request_fails_alone() -> None:
    process = ModelProcess({"path": "x"}, engine=ECHO)
    try:
        process.wait_ready()
        with pytest.raises(ModelError, match="unknown request"):
            list(process.call({"op": "dance"}))
        assert [m for m in process.call(generate("encore")) if "piece" in m]
    finally:
        process.close()


# -- the generator on top: configuration chosen, crashes survived ----------------------------
def test_the_generator_runs_the_plain_configuration_when_repacked_crashes(
    model_file: Path, tmp_path: Path
) -> None:
    generator = LlamaCppGenerator(
        model_file, home=tmp_path / "home", engine=fake("CrashWhenRepacked")
    )
    try:
        assert "".join(generator.stream([{"role": "user", "content": "bonjour"}])) == "bonjour "
        verdict = generator.verdict
        assert verdict is not None and verdict.config == "plain"
        assert "SIGSEGV" in verdict.trials["repacked"].problem
        assert "only plain works" in verdict.reason
    finally:
        generator.close()


def test_a_start_up_that_fails_raises_and_leaves_this_process_running(
    model_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(ModelError, match="any configuration.*SIGSEGV"):
        LlamaCppGenerator(model_file, home=tmp_path / "home", engine=fake("CrashOnLoad"))
    # Forced into one configuration, the crash at load is explained too.
    forced = LlamaCppGenerator(
        model_file, home=tmp_path / "home", repack="off", engine=fake("CrashOnLoad")
    )
    with pytest.raises(ModelCrashed, match=r"was killed by SIGSEGV.*while loading the model"):
        list(forced.stream([{"role": "user", "content": "bonjour"}]))


def test_a_crash_while_answering_rules_the_configuration_out_and_the_next_answer_comes(
    model_file: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    generator = LlamaCppGenerator(model_file, home=home, engine=fake("CrashAnsweringWhenRepacked"))
    messages = [{"role": "user", "content": "un deux"}]
    try:
        with pytest.raises(ModelCrashed) as caught:
            list(generator.stream(messages))
        message = str(caught.value)
        assert "SIGSEGV" in message and "running llama.cpp's repacked configuration" in message
        assert "now ruled out on this machine" in message
        assert "rag doctor" in message
        assert generator.verdict is not None and generator.verdict.config == "plain"
        assert "".join(generator.stream(messages)) == "un deux "
    finally:
        generator.close()
    # A new process (the next `rag ask`) starts plain at once: the crash was saved.
    again = LlamaCppGenerator(model_file, home=home, engine=fake("CrashAnsweringWhenRepacked"))
    try:
        assert "".join(again.stream(messages)) == "un deux "
        assert again.verdict is not None and again.verdict.crashes
    finally:
        again.close()


def test_a_generation_stopped_early_lets_the_next_one_through(
    model_file: Path, tmp_path: Path
) -> None:
    generator = LlamaCppGenerator(model_file, home=tmp_path / "home", engine=ECHO)
    try:
        stream = generator.stream([{"role": "user", "content": " ".join(["mot"] * 500)}])
        assert next(stream) == "mot "
        stream.close()  # as the chat does when a user starts a new conversation mid-answer
        assert "".join(generator.stream([{"role": "user", "content": "fin"}])) == "fin "
        assert generator.count_tokens("un deux") == 2
    finally:
        generator.close()
