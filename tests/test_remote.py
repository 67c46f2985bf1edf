"""The remote backends against a scripted OpenAI-compatible server on loopback.

Worked example: a server whose ``/embeddings`` fails twice with 503 and then answers gives
vectors after two retries; one that always fails gives a ServerError naming its URL, and an
index update that meets it leaves the index as it was.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pytest

from rag.documents import load_documents
from rag.embeddings import RemoteEmbedder, embedder_from_spec
from rag.endpoints import Endpoint
from rag.errors import ModelError, ServerError
from rag.generation import Gate, RemoteGenerator, generator_from_spec
from rag.index import load_index, update_index
from rag.pipeline import Pipeline
from rag.settings import Settings
from tests.conftest import FakeEmbedder, free_port
from tests.openai_fake import FakeServer, Reply, Request, chunks, completion, embeddings

BAG = FakeEmbedder()


def embed(request: Request) -> Reply:
    """Bag-of-words vectors for the request's texts, like the local fake."""
    return embeddings(BAG.embed_passages(request.body["input"]) * 3.0)  # unnormalised on purpose


def fast(url: str, **kw: float) -> Endpoint:
    return Endpoint(url, **{"timeout": 2.0, "retries": 2, "backoff": 0.01, **kw})  # type: ignore[arg-type]


# -- the endpoint ------------------------------------------------------------------------------
def test_busy_server_is_tried_again_then_answers() -> None:
    replies = iter(
        [Reply(503, {"error": {"message": "loading"}}), Reply(429, {}), Reply(json={"a": 1})]
    )
    with FakeServer(lambda r: next(replies)) as server:
        assert fast(server.url).post("/x", {}) == {"a": 1}
        assert len(server.requests) == 3


def test_retries_are_bounded_and_the_error_names_the_url() -> None:
    with (
        FakeServer(lambda r: Reply(503, {"error": {"message": "overloaded"}})) as server,
        pytest.raises(ServerError, match=r"127\.0\.0\.1.*/v1/x after 3 tries.*overloaded"),
    ):
        fast(server.url).post("/x", {})
        assert len(server.requests) == 3


def test_a_client_error_is_not_retried_and_says_what_the_server_said() -> None:
    with (
        FakeServer(lambda r: Reply(400, {"error": {"message": "model 'm' not found"}})) as server,
        pytest.raises(ServerError, match=r"/v1/x answered HTTP 400: model 'm' not found"),
    ):
        fast(server.url).post("/x", {})
        assert len(server.requests) == 1


def test_a_wrong_key_points_at_the_setting() -> None:
    with (
        FakeServer(lambda r: Reply(401, {"error": {"message": "bad key"}})) as server,
        pytest.raises(ServerError, match="RAG_API_KEY"),
    ):
        fast(server.url, retries=0).post("/x", {})


def test_the_api_key_is_sent_as_a_bearer_token() -> None:
    with FakeServer(lambda r: Reply(json={})) as server:
        Endpoint(server.url, api_key="s3cret").post("/x", {})
        assert server.requests[0].headers["Authorization"] == "Bearer s3cret"


def test_a_server_that_is_down_fails_fast_with_its_url() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    started = time.perf_counter()
    with pytest.raises(ServerError, match=rf"{url}/embeddings after 3 tries.*server running"):
        fast(url).post("/embeddings", {})
    assert time.perf_counter() - started < 5


def test_a_stalled_server_times_out() -> None:
    with (
        FakeServer(lambda r: Reply(json={}, delay=1.5)) as server,
        pytest.raises(ServerError, match="timed out"),
    ):
        fast(server.url, timeout=0.3, retries=1).post("/x", {})
        assert len(server.requests) == 2


def test_garbage_is_an_error_not_a_crash() -> None:
    with (
        FakeServer(lambda r: Reply(raw=b"<html>proxy error</html>")) as server,
        pytest.raises(ServerError, match="not JSON.*proxy error"),
    ):
        fast(server.url).post("/x", {})


def test_bad_urls_are_refused_before_any_request() -> None:
    for url in ["localhost:8000", "ftp://host/v1", ""]:
        with pytest.raises(ModelError, match="not a server URL"):
            Endpoint(url)


def test_a_stream_is_read_to_its_end() -> None:
    with FakeServer(lambda r: Reply(events=[{"n": 1}, ": a comment", {"n": 2}])) as server:
        events = list(fast(server.url).stream("/s", {}))
    assert [e.get("n") for e in events if "n" in e] == [1, 2]
    assert server.requests[0].body == {"stream": True}


def test_a_stream_cut_before_its_end_is_an_error() -> None:
    with FakeServer(lambda r: Reply(events=[{"n": 1}], done=False)) as server:
        stream = fast(server.url).stream("/s", {})
        assert next(stream) == {"n": 1}
        with pytest.raises(ServerError, match=r"closed the stream before its end"):
            next(stream)


def test_a_stream_that_stalls_mid_reply_times_out() -> None:
    with (
        FakeServer(lambda r: Reply(events=[{"n": 1}, {"n": 2}], pause=1.0)) as server,
        pytest.raises(ServerError, match="stopped answering mid-reply"),
    ):
        list(fast(server.url, timeout=0.3).stream("/s", {}))


# -- the embedder ------------------------------------------------------------------------------
def test_remote_vectors_are_normalised_and_in_order() -> None:
    def shuffled(request: Request) -> Reply:
        reply = embed(request)
        reply.json["data"].reverse()  # servers may answer in any order; "index" rules
        return reply

    with FakeServer(shuffled) as server:
        e = RemoteEmbedder(fast(server.url), "e5")
        texts = ["SenseTime cotation", "Alibaba Eddie Wu", "MiniMax"]
        got = e.embed_passages(texts)
    assert e.dim == 256 and e.name == "openai:e5"
    np.testing.assert_allclose(got, BAG.embed_passages(texts), atol=1e-6)


def test_the_request_says_query_or_passage_and_adds_the_prefixes() -> None:
    with FakeServer(embed) as server:
        e = RemoteEmbedder(
            fast(server.url), "e5", query_prefix="query: ", passage_prefix="passage: "
        )
        e.embed_queries(["Qui ?"])
        e.embed_passages(["Texte."])
    query, passage = server.requests[-2].body, server.requests[-1].body
    assert (query["input"], query["input_type"]) == (["query: Qui ?"], "query")
    assert (passage["input"], passage["input_type"]) == (["passage: Texte."], "passage")


def test_no_model_named_takes_the_servers_first() -> None:
    def route(request: Request) -> Reply:
        if request.path == "/v1/models":
            return Reply(json={"data": [{"id": "multilingual-e5-small-q4"}]})
        return embed(request)

    with FakeServer(route) as server:
        e = embedder_from_spec("openai", endpoint=fast(server.url))
    assert e.name == "openai:multilingual-e5-small-q4"


@pytest.mark.parametrize(
    "broken",
    [
        {"data": [{"index": 0, "embedding": [0.1, 0.2]}, {"index": 1, "embedding": [0.1]}]},
        {"data": [{"index": 0, "embedding": [float("nan"), 1.0]}]},
        {"data": [{"index": 0, "embedding": [0.0, 0.0]}]},
        {"object": "list"},
        {"data": [{"index": 0}]},
    ],
)
def test_unusable_embeddings_are_an_error(broken: dict[str, object]) -> None:
    with (
        FakeServer(lambda r: Reply(json=broken)) as server,
        pytest.raises(ServerError, match=r"/v1/embeddings"),
    ):
        RemoteEmbedder(fast(server.url), "e5")


def test_the_remote_spec_needs_a_url() -> None:
    with pytest.raises(ModelError, match="RAG_EMBEDDER_URL"):
        embedder_from_spec("openai:e5")
    with pytest.raises(ModelError, match="RAG_GENERATOR_URL"):
        generator_from_spec("openai:qwen")


# -- indexing through it ----------------------------------------------------------------------
def test_a_server_failing_half_way_indexes_nothing(tmp_path: Path, corpus: Path) -> None:
    folder = tmp_path / "idx"
    with FakeServer(embed) as server:
        e = RemoteEmbedder(fast(server.url), "e5")
        first, _ = update_index(
            folder, load_documents(corpus), e, chunk_size=600, chunk_overlap=120
        )
    before = [c.id for c in first.chunks]
    (corpus / "new.txt").write_text(("Un nouvel article sur Zhipu. " * 200), encoding="utf-8")
    calls = iter(range(1000))

    def dies_midway(request: Request) -> Reply:
        return embed(request) if next(calls) < 1 else Reply(500, {"error": {"message": "OOM"}})

    with FakeServer(dies_midway) as server:
        e = RemoteEmbedder(fast(server.url), "e5")  # its probe is the one call that works
        with pytest.raises(ServerError, match="OOM"):
            update_index(folder, load_documents(corpus), e, chunk_size=600, chunk_overlap=120)
    after = load_index(folder)
    assert after is not None and [c.id for c in after.chunks] == before
    assert "new" not in after.documents


def test_the_index_records_the_remote_embedder_and_never_mixes(
    tmp_path: Path, corpus: Path
) -> None:
    folder = tmp_path / "idx"
    docs = load_documents(corpus)
    update_index(folder, docs, FakeEmbedder(), chunk_size=600, chunk_overlap=120)
    with FakeServer(embed) as server:
        e = RemoteEmbedder(fast(server.url), "e5")
        store, stats = update_index(folder, docs, e, chunk_size=600, chunk_overlap=120)
    assert store.manifest["embedder"] == "openai:e5"
    assert stats.rebuilt and "fake:bag-of-words" in stats.rebuilt
    assert stats.embedded_chunks == len(store.chunks)


# -- the generator -----------------------------------------------------------------------------
def chat(
    first: str, top: dict[str, float] | None, then: str = "Eddie Wu dirige Alibaba [1]."
) -> FakeServer:
    def route(request: Request) -> Reply:
        if request.path == "/extras/tokenize":
            return Reply(json={"tokens": [45425]})
        if request.body.get("stream"):
            return chunks(then)
        return completion(first, top)

    return FakeServer(route)


def test_a_sure_refusal_is_the_marker_and_nothing_is_streamed() -> None:
    with chat("NONE", {"NONE": 0.7, "Eddie": 0.2}) as server:
        g = RemoteGenerator(fast(server.url), "qwen")
        assert (
            "".join(g.stream([{"role": "user", "content": "q"}], gate=Gate("NONE", 0.05))) == "NONE"
        )
    assert server.paths() == ["/v1/chat/completions"]
    probe = server.requests[0].body
    assert probe["max_tokens"] == 1 and probe["logprobs"] is True and probe["top_logprobs"] == 20
    assert g.usage.marker_probability == pytest.approx(0.7) and g.usage.prompt_tokens == 42


def test_below_the_threshold_the_answer_streams() -> None:
    with chat("Eddie", {"Eddie": 0.9, "NONE": 0.03}) as server:
        g = RemoteGenerator(fast(server.url), "qwen")
        pieces = list(g.stream([{"role": "user", "content": "q"}], gate=Gate("NONE", 0.05)))
    assert "".join(pieces) == "Eddie Wu dirige Alibaba [1]." and len(pieces) > 3
    streamed = server.requests[-1].body
    assert "logprobs" not in streamed and "logit_bias" not in streamed
    assert g.usage.marker_probability == pytest.approx(0.03)


def test_a_marker_chosen_below_the_threshold_is_banned() -> None:
    # The model's likeliest first token is the marker, yet under the threshold: as in-process,
    # it must answer, so the marker's token id is banned for the streamed answer.
    with chat("NONE", {"NONE": 0.04, "Eddie": 0.03}) as server:
        g = RemoteGenerator(fast(server.url), "qwen")
        text = "".join(g.stream([{"role": "user", "content": "q"}], gate=Gate("NONE", 0.05)))
    assert text == "Eddie Wu dirige Alibaba [1]."
    assert server.requests[-1].body["logit_bias"] == {"45425": -100}


def test_a_marker_not_among_the_top_tokens_has_probability_zero() -> None:
    with chat("Eddie", {"Eddie": 0.9}) as server:
        g = RemoteGenerator(fast(server.url), "qwen")
        list(g.stream([{"role": "user", "content": "q"}], gate=Gate("NONE", 0.05)))
    assert g.usage.marker_probability == 0.0


def test_without_logprobs_the_models_own_choice_stands(caplog: pytest.LogCaptureFixture) -> None:
    with chat("Eddie", None) as server, caplog.at_level(logging.WARNING, "rag"):
        g = RemoteGenerator(fast(server.url), "qwen")
        text = "".join(g.stream([{"role": "user", "content": "q"}], gate=Gate("NONE", 0.05)))
        assert text.startswith("Eddie") and g.usage.marker_probability is None
        assert "no log-probabilities" in caplog.text
        asked = len(server.requests)
        list(g.stream([{"role": "user", "content": "q2"}], gate=Gate("NONE", 0.05)))
    assert len(server.requests) == asked + 1  # no probe the second time: only the answer


def test_a_server_that_dies_mid_answer_gives_a_clear_error() -> None:
    def route(request: Request) -> Reply:
        if request.body.get("stream"):
            return chunks("Eddie Wu dirige", done=False)
        return completion("Eddie", {"Eddie": 0.9})

    with FakeServer(route) as server:
        g = RemoteGenerator(fast(server.url), "qwen")
        with pytest.raises(ServerError, match="closed the stream"):
            list(g.stream([{"role": "user", "content": "q"}], gate=Gate("NONE", 0.05)))


# -- the whole pipeline --------------------------------------------------------------------------
def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_GENERATOR", "openai:qwen2.5-coder-1.5b")
    monkeypatch.setenv("RAG_GENERATOR_URL", "http://gpu-box:8000/v1")
    monkeypatch.setenv("RAG_API_KEY", "s3cret")
    monkeypatch.setenv("RAG_REQUEST_TIMEOUT", "5")
    s = Settings.from_env()
    assert (s.generator, s.generator_url, s.api_key, s.request_timeout) == (
        "openai:qwen2.5-coder-1.5b",
        "http://gpu-box:8000/v1",
        "s3cret",
        5.0,
    )
    assert "s3cret" not in repr(s)


def test_a_cited_answer_through_both_endpoints(tmp_path: Path, corpus: Path) -> None:
    def route(request: Request) -> Reply:
        if request.path == "/v1/embeddings":
            return embed(request)
        if request.body.get("stream"):
            return chunks("Le PDG d'Alibaba est Eddie Wu [1].")
        return completion("Le", {"Le": 0.95, "NONE": 0.01})

    with FakeServer(route) as server:
        s = Settings(
            corpus=corpus,
            home=tmp_path,
            embedder="openai:e5",
            embedder_url=server.url,
            generator="openai:qwen",
            generator_url=server.url,
        )
        pieces = []
        for item in Pipeline(s).answer_stream("Qui est le PDG d'Alibaba ?"):
            pieces.append(item)
    answer = pieces[-1]
    assert not answer.refused and answer.citations and "Eddie Wu" in answer.citations[0].text
    assert answer.refusal_probability == pytest.approx(0.01)
    assert "Eddie Wu" in "".join(p for p in pieces if isinstance(p, str))
