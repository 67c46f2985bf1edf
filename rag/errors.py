"""The few exceptions the library raises; each message says what to do.

Only the CLI and the app turn these into user-facing messages.
"""


class RagError(Exception):
    """Base class: catch this to handle every error of the library."""


class SettingsError(RagError, ValueError):
    """A setting (a ``RAG_*`` variable, a ``name=value`` change) has no such name, or a value
    of the wrong type."""


class QuestionError(RagError, ValueError):
    """The question is empty, too long or otherwise unusable."""


class CorpusError(RagError):
    """The corpus folder is missing or holds nothing readable."""


class IndexStoreError(RagError):
    """The index on disk cannot be used (damaged, or built by another embedder)."""


class ModelError(RagError):
    """A model package is missing, or a model file fails its checksum."""


class ModelCrashed(ModelError):
    """The local model's process died (a native crash in llama.cpp, or the system ended it)
    while loading or answering. The message names the cause and the remedy; the process that
    asked keeps running, and the next question starts a new model process.

    ``status`` says how it ended ("was killed by SIGSEGV (segmentation fault)"), ``last_words``
    holds the last lines it wrote on stderr."""

    status: str = ""
    native: bool = True  # a fault of the native code (not a kill from outside)
    last_words: tuple[str, ...] = ()


class ServerError(ModelError):
    """A model server (OpenAI-compatible endpoint) is down, too slow, or answered
    something unusable. The message names the URL."""


class PromptError(RagError):
    """A prompt file is missing or uses unknown or missing variables."""
