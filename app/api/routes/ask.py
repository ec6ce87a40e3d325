"""Questions to the configured LLM, with answers cached."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from app.api.deps import ResourcesDep
from app.schemas import AskIn, AskOut, ErrorResponse
from app.services.llm import LLMError

router = APIRouter(tags=["ask"])


@router.post(
    "/ask",
    response_model=AskOut,
    responses={
        502: {"model": ErrorResponse, "description": "The LLM backend failed"},
        503: {"model": ErrorResponse, "description": "No LLM backend is configured"},
        504: {"model": ErrorResponse, "description": "The LLM backend timed out"},
    },
)
async def ask(body: AskIn, resources: ResourcesDep) -> AskOut:
    """Forwards the question to the LLM unless the same question was answered before."""
    try:
        answer, cached = await resources.asker.ask(body.question)
    except LLMError as exc:
        raise HTTPException(exc.status_code, str(exc)) from None
    llm = resources.llm
    return AskOut(answer=answer, backend=llm.backend, model=llm.model, cached=cached)
