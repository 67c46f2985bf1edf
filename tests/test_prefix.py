"""Saved prefix states: found again by the same tokens and key only, checked, pruned.

Worked example: a state saved after tokens [1, 2, 3] is loaded for [1, 2, 3] under the same key;
a flipped byte in its file, another key (another model or build) or other tokens (another
prompt) find nothing, and the damaged file is removed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.prefix import PrefixStates

TOKENS = [151644, 8948, 198, 2610]


@pytest.fixture
def states(tmp_path: Path) -> PrefixStates:
    return PrefixStates(tmp_path / "prefix", key="model.gguf|1117320768|build")


def test_a_state_comes_back_for_the_same_tokens_and_key(
    states: PrefixStates, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 100
    assert states.save(TOKENS, data) == states.path(TOKENS)
    assert states.load(TOKENS) == data
    assert states.load([*TOKENS, 13]) is None  # another prompt
    other_build = PrefixStates(tmp_path / "prefix", key="model.gguf|1117320768|other build")
    assert other_build.load(TOKENS) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[:-1],  # truncated
        lambda raw: raw[:-10] + bytes([raw[-10] ^ 1]) + raw[-9:],  # one bit flipped
        lambda raw: b"",  # emptied
        lambda raw: b"not a state at all",
    ],
)
def test_a_damaged_state_is_detected_and_removed(states: PrefixStates, damage: object) -> None:
    path = states.save(TOKENS, b"kv-cache" * 1000)
    assert path is not None
    path.write_bytes(damage(path.read_bytes()))  # type: ignore[operator]
    assert states.load(TOKENS) is None
    assert not path.exists()


def test_the_least_recently_used_states_go_beyond_keep(tmp_path: Path) -> None:
    states = PrefixStates(tmp_path, key="k", keep=2)
    for i in range(4):
        states.save([i], b"x")
    assert sorted(p.name for p in tmp_path.glob("*.state")) == sorted(
        states.path([i]).name for i in (2, 3)
    )


def test_a_folder_that_cannot_be_written_only_costs_the_saving(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("a file where the folder should be")
    states = PrefixStates(blocked, key="k")
    assert states.save(TOKENS, b"x") is None
    assert states.load(TOKENS) is None
