"""POST /api/ask against a fake LLM API that counts calls."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest

from app.config import Tuning
from tools.bench_app import run_async


def _question() -> str:
    return f"What is {uuid.uuid4()}?"


def test_openai_answer_then_cache_hit(make_client, fake_llm):
    client = make_client(**fake_llm.env(), OPENAI_MODEL="gpt-test")
    question = _question()
    first = client.post("/api/ask", json={"question": question})
    second = client.post("/api/ask", json={"question": f"  {question} "})
    assert (first.status_code, first.json()) == (
        200,
        {
            "answer": f"answer to: {question}",
            "backend": "openai",
            "model": "gpt-test",
            "cached": False,
        },
    )
    assert (second.status_code, second.json()["cached"], len(fake_llm.calls)) == (200, True, 1)


def test_openai_request_shape(make_client, fake_llm):
    client = make_client(**fake_llm.env(), OPENAI_MODEL="gpt-test")
    question = _question()
    client.post("/api/ask", json={"question": question})
    (call,) = fake_llm.calls
    assert call == {
        "path": "/v1/chat/completions",
        "authorization": "Bearer sk-test-secret-key",
        "body": {"model": "gpt-test", "messages": [{"role": "user", "content": question}]},
    }


def test_ollama_when_use_local_llm(make_client, fake_llm):
    client = make_client(**fake_llm.env(), USE_LOCAL_LLM="true", OLLAMA_MODEL="llama-test")
    question = _question()
    response = client.post("/api/ask", json={"question": question})
    (call,) = fake_llm.calls
    assert (response.status_code, response.json()) == (
        200,
        {
            "answer": f"answer to: {question}",
            "backend": "ollama",
            "model": "llama-test",
            "cached": False,
        },
    )
    assert call == {
        "path": "/api/chat",
        "authorization": None,
        "body": {
            "model": "llama-test",
            "stream": False,
            "messages": [{"role": "user", "content": question}],
        },
    }


def test_different_models_do_not_share_answers(make_client, fake_llm):
    question = _question()
    make_client(**fake_llm.env(), OPENAI_MODEL="a").post("/api/ask", json={"question": question})
    make_client(**fake_llm.env(), OPENAI_MODEL="b").post("/api/ask", json={"question": question})
    assert len(fake_llm.calls) == 2


def test_slow_backend_is_504_not_a_hang(make_client, fake_llm):
    fake_llm.mode, fake_llm.delay = "slow", 3.0
    client = make_client(**fake_llm.env())
    response = client.post("/api/ask", json={"question": _question()})
    assert (response.status_code, response.json()) == (504, {"detail": "LLM backend timed out"})


@pytest.mark.parametrize(
    ("mode", "detail"),
    [
        ("error", "LLM backend answered HTTP 500"),
        ("garbage", "LLM backend sent an unexpected response"),
    ],
)
def test_backend_errors_are_502(make_client, fake_llm, mode, detail):
    fake_llm.mode = mode
    client = make_client(**fake_llm.env())
    response = client.post("/api/ask", json={"question": _question()})
    assert (response.status_code, response.json()) == (502, {"detail": detail})


def test_unreachable_backend_is_502(make_client):
    from app.tests.support import free_port

    client = make_client(OPENAI_API_KEY="sk-x", OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}")
    response = client.post("/api/ask", json={"question": _question()})
    assert (response.status_code, response.json()) == (502, {"detail": "LLM backend unreachable"})


def test_failures_are_not_cached(make_client, fake_llm):
    client = make_client(**fake_llm.env())
    question = _question()
    fake_llm.mode = "error"
    client.post("/api/ask", json={"question": question})
    fake_llm.mode = "ok"
    response = client.post("/api/ask", json={"question": question})
    assert (response.json()["cached"], len(fake_llm.calls)) == (False, 2)


def test_concurrent_identical_questions_call_the_backend_once(make_settings, fake_llm):
    from app.resources import open_resources

    fake_llm.mode, fake_llm.delay = "slow", 0.3
    settings = make_settings(**fake_llm.env())
    question = _question()

    async def run() -> list[tuple[str, bool]]:
        resources = open_resources(settings, Tuning())
        try:
            return await asyncio.gather(*(resources.asker.ask(question) for _ in range(5)))
        finally:
            await resources.close()

    results = run_async(run())
    assert (sorted(cached for _, cached in results), len(fake_llm.calls)) == (
        [False, True, True, True, True],
        1,
    )


@pytest.mark.integration
def test_redis_cache_is_shared_between_app_instances(make_client, fake_llm, redis_server):
    """Two tasks behind the ALB: the second never pays for the first one's question."""
    env = {**fake_llm.env(), **redis_server.env()}
    question = _question()
    first = make_client(**env).post("/api/ask", json={"question": question})
    second = make_client(**env).post("/api/ask", json={"question": question})
    assert (first.json()["cached"], second.json()["cached"], len(fake_llm.calls)) == (
        False,
        True,
        1,
    )


@pytest.mark.integration
def test_redis_needs_the_auth_token(make_client, fake_llm, redis_server):
    """Without REDIS_AUTH_TOKEN the cache is refused: answers still come, uncached."""
    client = make_client(**fake_llm.env(), REDIS_URL=redis_server.url)
    question = _question()
    responses = [client.post("/api/ask", json={"question": question}) for _ in range(2)]
    ready = client.get("/api/ready").json()
    assert ([r.status_code for r in responses], len(fake_llm.calls)) == ([200, 200], 2)
    assert (ready["failed"], ready["checks"]["cache"]["error"]) == (
        ["cache"],
        "AuthenticationError",
    )


def _openai_answer(content: str) -> bytes:
    document = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("raw_body", "reason"),
    [
        (_openai_answer("\ud800 broken"), "answer text is not valid Unicode (lone surrogate)"),
        (b"[" * 100_000 + b"]" * 100_000, "response body is not JSON (RecursionError)"),
        (b"\xff\xfe not UTF-8", "response body is not JSON (JSONDecodeError)"),
        (_openai_answer("x" * (1024 * 1024)), "response body is larger than 1048576 bytes"),
    ],
    ids=["lone-surrogate", "deeply-nested", "not-utf-8", "too-large"],
)
def test_broken_answers_are_502_logged_and_not_cached(
    make_client, fake_llm, caplog, raw_body, reason
):
    fake_llm.mode, fake_llm.raw_body = "raw", raw_body
    client = make_client(tuning=Tuning(), **fake_llm.env())
    question = _question()
    with caplog.at_level(logging.WARNING, logger="app.llm"):
        responses = [
            client.post("/api/ask", json={"question": question}, headers={"X-Request-ID": rid})
            for rid in ("broken-1", "broken-2")
        ]
    for response, rid in zip(responses, ("broken-1", "broken-2"), strict=True):
        assert (response.status_code, response.json()) == (
            502,
            {"detail": "LLM backend sent an unexpected response"},
        )
        assert response.headers["x-request-id"] == rid
    assert len(fake_llm.calls) == 2  # the second question was not answered from the cache
    logged = [
        record.fields for record in caplog.records if record.getMessage() == "llm invalid response"
    ]
    assert logged == [
        {"backend": "openai", "reason": reason, "request_id": "broken-1"},
        {"backend": "openai", "reason": reason, "request_id": "broken-2"},
    ]


def test_garbage_answer_is_logged(make_client, fake_llm, caplog):
    fake_llm.mode = "garbage"
    client = make_client(**fake_llm.env())
    with caplog.at_level(logging.WARNING, logger="app.llm"):
        client.post("/api/ask", json={"question": _question()}, headers={"X-Request-ID": "g-1"})
    (record,) = [r for r in caplog.records if r.getMessage() == "llm invalid response"]
    assert record.fields == {
        "backend": "openai",
        "reason": "no answer text where the API puts it",
        "request_id": "g-1",
    }


def test_answer_just_under_the_limit_is_served(make_client, fake_llm):
    fake_llm.mode = "raw"
    fake_llm.raw_body = _openai_answer("y" * (1024 * 1024 - 200))
    client = make_client(tuning=Tuning(), **fake_llm.env())
    response = client.post("/api/ask", json={"question": _question()})
    assert (response.status_code, len(response.json()["answer"])) == (200, 1024 * 1024 - 200)
