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


class ServerError(ModelError):
    """A model server (OpenAI-compatible endpoint) is down, too slow, or answered
    something unusable. The message names the URL."""


class PromptError(RagError):
    """A prompt file is missing or uses unknown or missing variables."""
