"""Prompt files, found in a checkout (``prompts/``) or an installed package
(``rag/prompts/``), validated when loaded.

A prompt declares ``{name}`` placeholders; loading checks they are exactly
the variables the caller will supply, so a typo fails at once, not as a
silently odd answer. Literal braces are written ``{{`` and ``}}``.

>>> p = Prompt("t", "Hello {who}", frozenset({"who"}))
>>> p.render(who="you")
'Hello you'
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import PromptError

# The variables each shipped prompt must use, no more, no less.
PROMPT_VARIABLES: dict[str, frozenset[str]] = {
    "answer_system": frozenset({"refusal"}),
    "answer_user": frozenset({"passages", "question", "language", "refusal"}),
    # Added to the question when a draft came in the other language, written in the one wanted.
    "answer_again_fr": frozenset(),
    "answer_again_en": frozenset(),
    # The system message that asks for the question in the documents' language (search only).
    "translate_fr": frozenset(),
    "translate_en": frozenset(),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    template: str
    variables: frozenset[str]

    def render(self, **values: str) -> str:
        """Fill the placeholders; a missing or unexpected value is a PromptError."""
        if set(values) != self.variables:
            raise PromptError(
                f"Prompt {self.name!r} takes {sorted(self.variables)}, got {sorted(values)}"
            )
        return self.template.format(**values)


def prompt_dirs() -> list[Path]:
    """Where prompt files are looked for, first match wins."""
    here = Path(__file__).resolve().parent
    return [here / "prompts", here.parent / "prompts"]


def placeholders(template: str) -> set[str]:
    """The ``{name}`` fields of a template: ``"a {x} {{y}}"`` -> ``{"x"}``."""
    try:
        return {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError as exc:
        raise PromptError(f"Malformed braces in prompt: {exc}") from exc


@dataclass(frozen=True)
class Example:
    """A worked example shown to the model before the real question (few-shot).

    ``answer`` None means the right reply is the refusal marker.
    """

    passages: str
    question: str
    language: str
    answer: str | None


@cache
def load_examples(name: str = "answer_examples", directory: Path | None = None) -> list[Example]:
    """Load ``<name>.json``: a list of ``{passages, question, language, answer}``.

    >>> [e.language for e in load_examples()]
    ['en', 'fr', 'en', 'fr', 'en']
    """
    path = _find(f"{name}.json", directory)
    try:
        items = json.loads(path.read_text(encoding="utf-8"))
        examples = [Example(**item) for item in items]
    except (ValueError, TypeError) as exc:
        raise PromptError(
            f"Examples file {path} is invalid: it must be a JSON list of objects with keys "
            f"passages, question, language, answer ({exc})"
        ) from exc
    for e in examples:
        if e.language not in {"fr", "en"} or "[1]" not in e.passages:
            raise PromptError(
                f"Example {e.question!r} in {path}: language must be 'fr' or 'en' and the "
                "passages numbered from [1]"
            )
    return examples


def _find(filename: str, directory: Path | None) -> Path:
    candidates = [directory] if directory else prompt_dirs()
    for folder in candidates:
        if (folder / filename).is_file():
            return folder / filename
    raise PromptError(
        f"Prompt file {filename} not found in {', '.join(map(str, candidates))}: "
        "reinstall the package or restore the prompts/ folder"
    )


@cache
def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    """Load and validate ``<name>.txt``.

    >>> load_prompt("answer_user").variables == PROMPT_VARIABLES["answer_user"]
    True
    """
    expected = PROMPT_VARIABLES.get(name)
    if expected is None:
        raise PromptError(f"Unknown prompt {name!r}: known prompts are {sorted(PROMPT_VARIABLES)}")
    path = _find(f"{name}.txt", directory)
    template = path.read_text(encoding="utf-8")
    found = placeholders(template)
    if found != expected:
        unknown, missing = sorted(found - expected), sorted(expected - found)
        raise PromptError(
            f"Prompt {path} is invalid: unknown variables {unknown}, missing variables {missing}"
        )
    return Prompt(name, template, expected)
