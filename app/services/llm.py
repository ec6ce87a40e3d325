"""Questions to an LLM: an OpenAI-compatible API, or Ollama when USE_LOCAL_LLM=true,
with answers cached so an identical question never reaches the paid API twice."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from typing import Any

import httpx

from app.config import Settings, Tuning
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

    @staticmethod
    def _answer(backend: str, document: Any) -> str:
        try:
            if backend == "ollama":
                text = document["message"]["content"]
            else:
                text = document["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            text = None
        if not isinstance(text, str):
            raise LLMError("LLM backend sent an unexpected response")
        return text

    async def ask(self, question: str) -> str:
        body, headers = self._request(question)
        try:
            async with asyncio.timeout(self._total_timeout):
                response = await self._http.post(self._url, json=body, headers=headers)
        except (TimeoutError, httpx.TimeoutException):
            logger.warning("llm timeout", extra={"fields": {"backend": self.backend}})
            raise LLMTimeout("LLM backend timed out") from None
        except httpx.HTTPError as exc:
            logger.warning(
                "llm unreachable",
                extra={"fields": {"backend": self.backend, "error": type(exc).__name__}},
            )
            raise LLMError("LLM backend unreachable") from None
        if response.status_code != 200:
            logger.warning(
                "llm error status",
                extra={"fields": {"backend": self.backend, "status": response.status_code}},
            )
            raise LLMError(f"LLM backend answered HTTP {response.status_code}")
        try:
            document = response.json()
        except ValueError:
            raise LLMError("LLM backend sent an unexpected response") from None
        return self._answer(self.backend, document)

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
