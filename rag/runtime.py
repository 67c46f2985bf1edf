"""Which llama.cpp configuration runs the local model on this machine: tried, not assumed.

llama.cpp can repack a model's weights as it loads them, into the layout its kernels for this
CPU read best (its "extra buffer types": AVX2 and AVX-512 layouts, AMX tiles on Intel Xeons,
KleidiAI on Arm). Whether that pays, and whether it works at all, depends on the CPU and the
build. On an AMX Xeon, llama-cpp-python 0.3.36 as pip builds it there crashes at the first
prompt with it and runs without it; on an AMD EPYC with AVX-512 it writes faster with it but
reads prompts slower and loads five times slower (docs/runtime.md has the figures). So both
configurations are tried once per machine, llama.cpp build and model file, each in a process
of its own (``python -m rag.worker probe``):

- one that crashes, or fails to load, is ruled out;
- the repacked one must pick the same next token as the plain one at ``MIN_AGREEMENT`` of the
  probe's positions, or its kernels compute something else, and it is ruled out;
- of those left, the one that answers a typical question of the pipeline sooner, from a cold
  start, wins (``Trial.answer_s``).

The verdict is saved in ``<home>/runtime/`` and reused. A crash while answering is added to it
(``record_crash``) and rules that configuration out from the next start on.

>>> plain = Trial("plain", True, load_s=0.5, prompt_tps=95, decode_tps=16, choices=(1, 2, 3, 4))
>>> fast = Trial("repacked", True, load_s=2.7, prompt_tps=68, decode_tps=20, choices=(1, 2, 3, 4))
>>> decide({"plain": plain, "repacked": fast})[0]
'plain'
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .errors import ModelError
from .worker import child_env, describe_exit, last_words

log = logging.getLogger("rag")

# The configurations, by name: llama.cpp's extra buffer types on (repacked) or off (plain).
CONFIGS = {"plain": False, "repacked": True}
# The share of probe positions where the repacked kernels must choose the plain kernels' next
# token. Both compute the same quantised products in another order, so a few near-ties flip
# (measured: 0.98-1.00 on AVX2 and AVX-512 builds, docs/runtime.md); kernels that compute
# something else agree at chance level.
MIN_AGREEMENT = 0.9
# A typical question of the pipeline, to compare configurations by: the new prompt tokens and
# the answer tokens of one answer (means over the evaluation set, bench/RESULTS.md), read after
# loading the model, as a cold ``rag ask`` does.
WORKLOAD_PROMPT_TOKENS = 300
WORKLOAD_ANSWER_TOKENS = 40
# CPU flags worth showing: the ones llama.cpp's kernels are chosen by.
NOTABLE_FLAGS = (
    "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16", "asimd", "asimddp", "i8mm", "sve", "sve2",
)  # fmt: skip


@dataclass(frozen=True)
class Machine:
    """The CPU, as the operating system describes it."""

    arch: str
    cpu: str
    cores: int
    flags: frozenset[str] = frozenset()

    @property
    def notable(self) -> list[str]:
        return [f for f in NOTABLE_FLAGS if f in self.flags]


def machine() -> Machine:
    """This machine's CPU: /proc/cpuinfo on Linux, its name alone elsewhere."""
    cpu, flags = platform.processor() or platform.machine(), frozenset[str]()
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        info = ""
    for line in info.splitlines():
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name in {"model name", "cpu model"} and value.strip():
            cpu = value.strip()
        elif name in {"flags", "features"} and not flags:
            flags = frozenset(value.split())
    return Machine(platform.machine(), cpu, os.cpu_count() or 1, flags)


@dataclass(frozen=True)
class Trial:
    """What trying one configuration found: whether it works, and how fast it is."""

    config: str
    ok: bool
    problem: str = ""  # why it does not work, in words
    load_s: float = 0.0
    prompt_tps: float = 0.0
    decode_tps: float = 0.0
    choices: tuple[int, ...] = ()  # the next token it picks at each probe position
    system_info: str = ""  # llama.cpp's own account of its build (llama_print_system_info)

    @property
    def answer_s(self) -> float:
        """Seconds for a typical answer from a cold start: load, prompt, answer."""
        if not self.ok or self.prompt_tps <= 0 or self.decode_tps <= 0:
            return float("inf")
        return (
            self.load_s
            + WORKLOAD_PROMPT_TOKENS / self.prompt_tps
            + WORKLOAD_ANSWER_TOKENS / self.decode_tps
        )

    def summary(self) -> str:
        if not self.ok:
            return f"{self.config}: {self.problem}"
        return (
            f"{self.config}: load {self.load_s:.1f} s, prompt {self.prompt_tps:.0f} tokens/s, "
            f"writing {self.decode_tps:.1f} tokens/s ({self.answer_s:.1f} s a typical answer)"
        )


@dataclass
class Verdict:
    """The configuration chosen for one machine, build and model file, and why."""

    config: str
    reason: str
    trials: dict[str, Trial]
    machine: Machine
    key: str = ""
    crashes: list[str] = field(default_factory=list)  # crashes while answering, in words
    when: str = ""  # when the configurations were tried, local time

    @property
    def repack(self) -> bool:
        return CONFIGS[self.config]

    def to_json(self) -> str:
        data = asdict(self)
        data["machine"]["flags"] = sorted(self.machine.flags)
        return json.dumps(data, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Verdict:
        data = json.loads(text)
        data["trials"] = {
            k: Trial(**{**t, "choices": tuple(t.get("choices", ()))})
            for k, t in data["trials"].items()
        }
        found = data["machine"]
        data["machine"] = Machine(**{**found, "flags": frozenset(found["flags"])})
        verdict = cls(**data)
        if verdict.config not in CONFIGS:
            raise ValueError(f"unknown configuration {verdict.config!r}")
        return verdict


def agreement(a: Trial, b: Trial) -> float:
    """The share of probe positions where ``a`` and ``b`` pick the same next token."""
    n = min(len(a.choices), len(b.choices))
    return sum(x == y for x, y in zip(a.choices, b.choices, strict=False)) / n if n else 0.0


def decide(trials: Mapping[str, Trial]) -> tuple[str, str]:
    """The configuration to run and the reason, from what trying them found; a ModelError
    when none works."""
    plain, repacked = trials.get("plain"), trials.get("repacked")
    if plain and repacked and plain.ok and repacked.ok:
        share = agreement(plain, repacked)
        if share < MIN_AGREEMENT:
            return "plain", (
                f"the repacked kernels pick another next token than the plain ones at "
                f"{1 - share:.0%} of positions: they compute something else on this machine"
            )
        best = min((plain, repacked), key=lambda t: t.answer_s)
        other = repacked if best is plain else plain
        return best.config, (
            f"both work (they agree at {share:.0%} of positions); {best.config} answers a "
            f"typical question in {best.answer_s:.1f} s from a cold start, {other.config} in "
            f"{other.answer_s:.1f} s"
        )
    working = [t for t in trials.values() if t.ok]
    failed = "; ".join(t.summary() for t in trials.values() if not t.ok)
    if not working:
        raise ModelError(
            f"llama.cpp cannot run this model on this machine in any configuration ({failed}). "
            "If it is a packaged model, delete the file so that it is assembled again; "
            "`rag doctor` shows the details"
        )
    return working[0].config, f"only {working[0].config} works ({failed})"


# -- the verdict on disk -------------------------------------------------------------------
def verdict_key(model: Path, here: Machine) -> str:
    """What a verdict holds for: the model file, the llama.cpp build and the CPU."""
    st = model.stat()
    parts = [str(model.resolve()), str(st.st_size), str(st.st_mtime_ns), build_stamp()]
    parts += [here.arch, here.cpu, " ".join(sorted(here.flags))]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def build_stamp() -> str:
    """The installed llama-cpp-python, without importing it: its version and its native
    libraries' sizes and times (a rebuild of the same version changes them)."""
    spec = importlib.util.find_spec("llama_cpp")
    if spec is None or not spec.submodule_search_locations:
        return "llama-cpp-python not installed"
    folder = Path(next(iter(spec.submodule_search_locations)))
    libs = sorted(p for p in (folder / "lib").glob("*") if p.is_file())
    stamps = [f"{p.name}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in libs]
    try:
        from importlib.metadata import version

        stamps.insert(0, version("llama-cpp-python"))
    except Exception:  # metadata missing: the libraries still tell builds apart
        pass
    return " ".join(stamps)


Probe = Callable[[str], Trial]


def choose(model: Path, home: Path, *, probe: Probe, here: Machine | None = None) -> Verdict:
    """The saved verdict for ``model`` on this machine, or a new one: each configuration
    tried with ``probe`` (plain first: it is the reference the repacked one is checked
    against), the outcome decided and saved."""
    here = here or machine()
    key = verdict_key(model, here)
    path = verdict_path(home, key)
    try:
        return Verdict.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, KeyError) as exc:
        log.warning("The saved runtime choice %s is unreadable (%s): trying again", path, exc)
    trials = {name: probe(name) for name in CONFIGS}
    config, reason = decide(trials)
    verdict = Verdict(config, reason, trials, here, key, when=time.strftime("%Y-%m-%d %H:%M"))
    log.info("llama.cpp configuration: %s, as %s", config, reason)
    save(verdict, home)
    return verdict


def forget(model: Path, home: Path, here: Machine | None = None) -> bool:
    """Remove the saved verdict for ``model`` on this machine, so that the next start tries
    the configurations again (after a change the key does not see, such as the machine's load
    when they were tried). Whether there was one."""
    path = verdict_path(home, verdict_key(model, here or machine()))
    existed = path.exists()
    path.unlink(missing_ok=True)
    return existed


def record_crash(verdict: Verdict, home: Path, status: str) -> Verdict:
    """``verdict`` after its configuration crashed while answering: that configuration is
    ruled out, and the other chosen if it worked (saved). A ModelError when none is left."""
    crashed = verdict.config
    trials = dict(verdict.trials)
    trials[crashed] = replace(trials[crashed], ok=False, problem=f"answering, it {status}")
    config, reason = decide(trials)
    updated = replace(
        verdict,
        config=config,
        reason=f"{crashed} crashed while answering ({status}); {reason}",
        trials=trials,
        crashes=[*verdict.crashes, f"{crashed}: {status}"],
    )
    save(updated, home)
    return updated


def verdict_path(home: Path, key: str) -> Path:
    return home / "runtime" / f"{key}.json"


def save(verdict: Verdict, home: Path) -> None:
    path = verdict_path(home, verdict.key)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(verdict.to_json(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:  # the next start tries again; nothing else is lost
        log.warning("Could not save the runtime choice in %s: %s", path.parent, exc)
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


# -- trying a configuration, in a process of its own -----------------------------------------
def run_probe(
    options: dict[str, Any], config: str, *, engine: str = "", timeout: float = 900
) -> Trial:
    """Try ``config`` in a new process (``python -m rag.worker probe``) with the engine's
    ``options``; a crash, a time-out or an error is a failed Trial that says what happened."""
    command = [sys.executable, "-m", "rag.worker", "probe"]
    if engine:
        command += ["--engine", engine]
    command += ["--options", json.dumps({**options, "repack": CONFIGS[config]})]
    try:
        done = subprocess.run(command, capture_output=True, timeout=timeout, env=child_env())
    except subprocess.TimeoutExpired:
        return Trial(config, False, f"took over {timeout:.0f} s to load and read 200 tokens")
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(lines[-1]) if lines else {}
    except ValueError:
        result = {}
    if done.returncode != 0 or not isinstance(result, dict) or not result:
        said = last_words(done.stderr.decode("utf-8", "replace").splitlines())
        last = f"; its last words: {said}" if said else ""
        return Trial(config, False, f"its process {describe_exit(done.returncode)}{last}")
    if "error" in result:
        return Trial(config, False, str(result["error"]))
    return Trial(
        config,
        True,
        load_s=float(result["load_s"]),
        prompt_tps=float(result["prompt_tps"]),
        decode_tps=float(result["decode_tps"]),
        choices=tuple(int(c) for c in result["choices"]),
        system_info=str(result.get("system_info", "")),
    )
