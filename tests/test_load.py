"""The chat server under load: many users at once on loopback, hundreds of questions.

Worked example: 8 users each ask 30 questions through the chat's API at the same time (240
in all). Every answer comes back to the user who asked, for the question asked, cited to a
passage retrieved for it; no request fails; the server's memory after the last question is
within a few tens of MB of what it was once warmed up.

The server runs in its own process (tests/fake_chat_server.py), so its memory is measured
apart from the clients'. Its models are fakes, so this measures the server, its queue and
the pipeline's own state, not the model (bench/chat_load.py runs the real one); the test
stops by itself. Measured once with 8 users x 125 questions: 1,000 answers in 43 s, server
memory 183 MB after 40 questions and 186 MB after 1,000.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import free_port

pytest.importorskip("gradio")
ROOT = Path(__file__).resolve().parent.parent
USERS, QUESTIONS_EACH = 8, 30
SUBJECTS = ["SenseTime", "Alibaba", "MiniMax", "Zhipu", "DeepSeek", "Tencent", "Nvidia", "Pékin"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def test_many_users_at_once_each_get_their_own_answers(tmp_path: Path, corpus: Path) -> None:
    from gradio_client import Client

    port = free_port()
    log_path = tmp_path / "server.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fake_chat_server", str(corpus), str(tmp_path), str(port)],
        cwd=ROOT,
        env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    errors: list[str] = []
    done: list[int] = []
    memory: list[float] = []

    def user(u: int) -> None:
        client = Client(url, verbose=False)
        for i in range(QUESTIONS_EACH):
            subject = SUBJECTS[(u + i) % len(SUBJECTS)]
            question = f"Que disent les articles de {subject} ? (utilisateur {u}, question {i})"
            try:
                answer = client.predict(question, [], api_name="/ask")
            except Exception as exc:  # every failure is reported below, none is allowed
                errors.append(f"{question}: {exc!r}")
                continue
            cited = answer["citations"][0]["text"] if answer["citations"] else ""
            passages = [p["chunk"]["text"] for p in answer["passages"]]
            if answer["question"] != question or answer["refused"] or not cited:
                errors.append(f"{question}: {answer['question']!r} {answer['text']!r}")
            elif not any(cited in p for p in passages):
                errors.append(f"{question}: cites a passage it was not given")
            done.append(1)
            if len(done) % 40 == 0:
                memory.append(rss_mb(server.pid))

    try:
        deadline = time.monotonic() + 60
        while f"ready on {port}" not in log_path.read_text():
            assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        started = time.monotonic()
        threads = [threading.Thread(target=user, args=(u,)) for u in range(USERS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)  # bounded: the test ends even if the server hangs
        assert not any(t.is_alive() for t in threads), "the load test did not finish"
        seconds = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    assert not errors, errors[:5]
    assert len(done) == USERS * QUESTIONS_EACH
    # The server's memory after the first 40 questions (imports and caches warm) and at the end.
    print(f"{len(done)} questions in {seconds:.0f} s; server RSS {[round(m) for m in memory]} MB")
    assert memory[-1] - memory[0] < 20, memory
