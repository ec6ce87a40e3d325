"""Dependencies shared by the routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.resources import Resources


def get_resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def get_request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


ResourcesDep = Annotated[Resources, Depends(get_resources)]
RequestIdDep = Annotated[str | None, Depends(get_request_id)]
