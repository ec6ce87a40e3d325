"""All routes, under /api (the ALB forwards everything; the app owns the /api prefix)."""

from fastapi import APIRouter

from app.api.routes import ask, events, files, health, info

api_router = APIRouter(prefix="/api")
for module in (health, events, files, ask, info):
    api_router.include_router(module.router)
