"""How much text the model is given for a question: what this machine reads in a set time.

The context is the retrieved sentences closest to the question (:func:`rag.context.focus`):
``Settings.context_sentences`` of them at least, then more, best first, while the model can
read them within ``Settings.first_token_budget_s``. The model's prompt speed is measured, not
assumed: a CPU reading 45 tokens a second keeps the few sentences, one reading 150 about
twice as much text, a GPU server the whole retrieved chunks. The figures for this project's
machines are in docs/evaluation.md ("Context sized by the machine").

>>> b = Budget(seconds=4.0, prompt_tps=150.0, chars_per_token=3.0, fixed_chars=300)
>>> b.tokens, b.chars
(500, 1500)
>>> Budget(seconds=4.0, prompt_tps=0.0, fixed_chars=300).chars
0
"""

from __future__ import annotations

from dataclasses import dataclass

# Characters per token where the model's tokenizer cannot be asked (a server without a
# tokenize route). Qwen2.5's tokenizer, measured: the built-in French news 3.8, PIAF's French
# Wikipedia articles 3.5, an English sentence 4.5; the lowest, so the budget is not overrun.
DEFAULT_CHARS_PER_TOKEN = 3.5


@dataclass(frozen=True)
class Budget:
    """The time the model may spend reading a question's prompt, and what it reads in it."""

    seconds: float  # Settings.first_token_budget_s; 0 turns the budget off
    prompt_tps: float = 0.0  # the model's prompt speed, tokens a second; 0 when unknown
    chars_per_token: float = DEFAULT_CHARS_PER_TOKEN  # the documents' text, as it tokenizes
    source: str = ""  # where prompt_tps comes from, in words
    fixed_chars: int = 0  # the rest of the question's prompt: its instructions, the question

    @property
    def on(self) -> bool:
        return self.seconds > 0 and self.prompt_tps > 0

    @property
    def tokens(self) -> int:
        """Tokens of passages that fit beside the rest of the prompt; 0 when off."""
        if not self.on:
            return 0
        fixed = self.fixed_chars / self.chars_per_token
        return max(0, int(self.seconds * self.prompt_tps - fixed))

    @property
    def chars(self) -> int:
        """The same, in characters of the documents' text."""
        return int(self.tokens * self.chars_per_token)

    def describe(self) -> str:
        """One line for ``rag doctor`` and the logs."""
        if self.seconds <= 0:
            return "off: the context is context_sentences sentences"
        if self.prompt_tps <= 0:
            return (
                f"{self.seconds:g} s, but the model's prompt speed is unknown: the context "
                "is context_sentences sentences"
            )
        tokens = int(self.seconds * self.prompt_tps)
        return (
            f"{self.seconds:g} s to read the prompt at {self.prompt_tps:.0f} tokens/s "
            f"({self.source}): about {tokens} tokens, {int(tokens * self.chars_per_token):,} "
            f"characters, of passages and question"
        )
