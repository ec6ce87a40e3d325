"""The non-secret settings in force."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ResourcesDep
from app.schemas import InfoResponse

router = APIRouter(tags=["info"])


@router.get("/info", response_model=InfoResponse)
async def info(resources: ResourcesDep) -> InfoResponse:
    """Region, commit, model names and which backends are in use. No secrets, and no
    host or bucket names, since this answers anyone who can reach the load balancer."""
    settings = resources.settings
    return InfoResponse(
        app_env=settings.app_env,
        aws_region=settings.aws_region,
        commit_sha=settings.commit_sha,
        llm_backend=settings.llm_backend,
        openai_model=settings.openai_model,
        ollama_model=settings.ollama_model,
        database="postgresql" if settings.uses_postgres else "sqlite",
        cache="redis" if settings.redis_url else "memory",
        files=settings.files_backend,
        files_prefix=settings.files_prefix,
        activity_log="volume" if settings.activity_log_dir else "local",
    )
