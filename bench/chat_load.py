"""The real chat server under load: its memory over hundreds of questions, and whether every
answer comes back whole, to the user who asked, and the same as when asked alone.

Run from the repository root::

    .venv/bin/python bench/chat_load.py                       # 4 users, 200 questions, 0.5B
    .venv/bin/python bench/chat_load.py --users 2 --questions 40 --model qwen2.5-coder-1.5b

It starts ``app.py`` on loopback with the real models (``--model``; the 0.5B default keeps a
run under half an hour on 2 cores), sends the evaluation questions round-robin from
``--users`` gradio_client users at once through the ``/ask`` API, and prints the server's
resident memory every 20 answers, the errors (none expected), and how many answers differ
from the answer the same server gave the same question alone (greedy decoding: none
expected). It stops by itself after ``--questions`` answers.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    args = parser.parse_args()
    from gradio_client import Client

    questions = [
        json.loads(line)["question"]
        for line in (ROOT / "eval" / "questions.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    home = Path(tempfile.mkdtemp(prefix="chat-load-"))
    port = free_port()
    env = {**os.environ, "RAG_HOME": str(home), "RAG_MODEL": args.model}
    env["GRADIO_ANALYTICS_ENABLED"] = "False"
    log = (home / "app.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        while url not in (home / "app.log").read_text():
            if server.poll() is not None:
                raise SystemExit((home / "app.log").read_text())
            time.sleep(0.2)
        # Each distinct question once, alone: the reference answers.
        distinct = questions[: min(len(questions), args.questions)]
        alone = Client(url, verbose=False)
        reference: dict[str, str] = {}
        started = time.monotonic()
        for q in distinct:
            reference[q] = alone.predict(q, [], api_name="/ask")["text"]
        memory = [(0, rss_mb(server.pid))]
        lock = threading.Lock()
        answered: list[str] = []
        errors: list[str] = []
        differ: list[str] = []
        queue = [distinct[i % len(distinct)] for i in range(args.questions)]

        def user() -> None:
            client = Client(url, verbose=False)
            while True:
                with lock:
                    if not queue:
                        return
                    q = queue.pop()
                try:
                    result: dict[str, Any] = client.predict(q, [], api_name="/ask")
                except Exception as exc:
                    with lock:
                        errors.append(f"{q}: {exc!r}")
                    continue
                with lock:
                    answered.append(q)
                    if result["question"] != q:
                        errors.append(f"{q}: answer to {result['question']!r}")
                    elif result["text"] != reference[q]:
                        differ.append(q)
                    if len(answered) % 20 == 0:
                        memory.append((len(answered), rss_mb(server.pid)))

        load_started = time.monotonic()
        threads = [threading.Thread(target=user) for _ in range(args.users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - load_started
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    print(f"model {args.model}; {args.users} users; {len(answered)} answers in {seconds:.0f} s")
    print(f"(reference pass: {len(distinct)} questions alone in {load_started - started:.0f} s)")
    print("| answers | server RSS MB |\n|---|---|")
    for n, mb in memory:
        print(f"| {n} | {mb:.0f} |")
    print(f"errors: {len(errors)}; answers differing from the same question alone: {len(differ)}")
    for line in (errors + differ)[:10]:
        print("  ", line)


if __name__ == "__main__":
    main()
