"""Questions to an LLM: an OpenAI-compatible API, or Ollama when USE_LOCAL_LLM=true,
with answers cached so an identical question never reaches the paid API twice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from typing import Any

import httpx

from app.config import Settings, Tuning
from app.middleware import current_request_id
from app.services.cache import AnswerCache

logger = logging.getLogger("app.llm")


class LLMError(Exception):
    """The backend failed or answered nonsense: a 502."""

    status_code = 502


class LLMTimeout(LLMError):
    """The backend did not answer in time: a 504."""

    status_code = 504


class LLMNotConfigured(LLMError):
    """No API key for the OpenAI-compatible backend: a 503."""

    status_code = 503


class LLMClient:
    """Sends one question, returns the answer text. Every failure becomes an LLMError,
    and the whole exchange is bounded by `tuning.llm_timeout_seconds`."""

    def __init__(self, settings: Settings, tuning: Tuning) -> None:
        self.backend = settings.llm_backend
        self.model = settings.llm_model
        self._total_timeout = tuning.llm_timeout_seconds
        self._max_response_bytes = tuning.llm_max_response_bytes
        key = settings.openai_api_key
        self._api_key = key.get_secret_value() if key is not None else None
        if self.backend == "ollama":
            self._url = f"{settings.ollama_base_url}/api/chat"
        else:
            self._url = f"{settings.openai_base_url}/chat/completions"
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                tuning.llm_timeout_seconds, connect=tuning.llm_connect_timeout_seconds
            ),
            follow_redirects=False,
        )

    def _request(self, question: str) -> tuple[dict[str, Any], dict[str, str]]:
        messages = [{"role": "user", "content": question}]
        if self.backend == "ollama":
            return {"model": self.model, "messages": messages, "stream": False}, {}
        if not self._api_key:
            raise LLMNotConfigured("LLM backend is not configured: OPENAI_API_KEY is not set")
        return (
            {"model": self.model, "messages": messages},
            {"Authorization": f"Bearer {self._api_key}"},
        )

    def _invalid(self, reason: str) -> LLMError:
        """Log why the backend's response is unusable and return the 502 to raise."""
        logger.warning(
            "llm invalid response",
            extra={
                "fields": {
                    "backend": self.backend,
                    "reason": reason,
                    "request_id": current_request_id.get(),
                }
            },
        )
        return LLMError("LLM backend sent an unexpected response")

    def _answer(self, document: Any) -> str:
        try:
            if self.backend == "ollama":
                text = document["message"]["content"]
            else:
                text = document["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            text = None
        if not isinstance(text, str):
            raise self._invalid("no answer text where the API puts it")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise self._invalid("answer text is not valid Unicode (lone surrogate)") from None
        return text

    async def _read_body(self, response: httpx.Response) -> bytes | None:
        """Return the response body, or None once it exceeds the size limit."""
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > self._max_response_bytes:
                return None
        return bytes(body)

    async def ask(self, question: str) -> str:
        body, headers = self._request(question)
        fields = {"backend": self.backend, "request_id": current_request_id.get()}
        try:
            async with asyncio.timeout(self._total_timeout):
                request = self._http.build_request("POST", self._url, json=body, headers=headers)
                response = await self._http.send(request, stream=True)
                try:
                    status = response.status_code
                    content = await self._read_body(response) if status == 200 else b""
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            logger.warning("llm timeout", extra={"fields": fields})
            raise LLMTimeout("LLM backend timed out") from None
        except httpx.HTTPError as exc:
            logger.warning(
                "llm unreachable", extra={"fields": {**fields, "error": type(exc).__name__}}
            )
            raise LLMError("LLM backend unreachable") from None
        if status != 200:
            logger.warning("llm error status", extra={"fields": {**fields, "status": status}})
            raise LLMError(f"LLM backend answered HTTP {status}")
        if content is None:
            raise self._invalid(f"response body is larger than {self._max_response_bytes} bytes")
        try:
            document = json.loads(content)
        except (ValueError, RecursionError) as exc:
            # RecursionError: JSON nested deeper than the interpreter's recursion limit.
            raise self._invalid(f"response body is not JSON ({type(exc).__name__})") from None
        return self._answer(document)

    async def close(self) -> None:
        await self._http.aclose()


def cache_key(backend: str, model: str, question: str) -> str:
    """Same backend, model and question (whitespace-normalised) -> same key."""
    normalised = " ".join(question.split())
    digest = hashlib.sha256(f"{backend}\n{model}\n{normalised}".encode()).hexdigest()
    return f"ask:v1:{digest}"


class AskService:
    """Cache in front of the LLM. Identical questions that arrive together in one process
    wait for the first one's answer instead of each calling the API."""

    def __init__(self, llm: LLMClient, cache: AnswerCache, tuning: Tuning) -> None:
        self.llm = llm
        self.cache = cache
        self._ttl = tuning.answer_cache_ttl_seconds
        self._locks: dict[str, asyncio.Lock] = {}

    async def _cached(self, key: str) -> str | None:
        try:
            return await self.cache.get(key)
        except Exception as exc:  # a cache outage must not stop answers
            logger.warning(
                "cache read failed",
                extra={"fields": {"cache": self.cache.backend, "error": type(exc).__name__}},
            )
            return None

    async def _store(self, key: str, answer: str) -> None:
        try:
            await self.cache.set(key, answer, self._ttl)
        except Exception as exc:
            logger.warning(
                "cache write failed",
                extra={"fields": {"cache": self.cache.backend, "error": type(exc).__name__}},
            )

    async def ask(self, question: str) -> tuple[str, bool]:
        """Return (answer, came_from_cache)."""
        key = cache_key(self.llm.backend, self.llm.model, question)
        answer = await self._cached(key)
        if answer is not None:
            return answer, True
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                answer = await self._cached(key)
                if answer is not None:
                    return answer, True
                answer = await self.llm.ask(question)
                await self._store(key, answer)
                return answer, False
        finally:
            if not lock.locked() and self._locks.get(key) is lock:
                del self._locks[key]
