"""The FastAPI application factory: everything with state is built in the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from service.competitors.router import router as competitors_router
from service.conversations.router import router as conversations_router
from service.deals.router import router as deals_router
from service.emails.router import router as emails_router
from service.errors import install_error_handlers
from service.experiments.pages import router as experiment_pages_router
from service.experiments.router import router as experiments_router
from service.health import router as health_router
from service.insights.router import router as insights_router
from service.jobs.runtime import Executor, Runtime, build_runtime
from service.jobs.sweeper import Sweeper
from service.settings import Settings
from service.tenants.router import router as tenant_router
from service.trackers.router import router as trackers_router
from service.trends.router import router as trends_router
from service.web.setup import add_nav, install_pages
from service.webhooks.router import router as webhooks_router

log = logging.getLogger(__name__)


@dataclass
class AppContext:
    """Per-application state reachable from requests as request.app.state.ctx."""

    settings: Settings
    runtime: Runtime


def make_executor(settings: Settings) -> Executor:
    """The executor the settings ask for."""
    if settings.jobs.executor == "celery":
        from service.jobs.celery_app import CeleryExecutor

        return CeleryExecutor(settings)
    from service.jobs.local import LocalExecutor

    return LocalExecutor(settings.jobs.worker_count())


def create_app(settings: Settings | None = None, *, start_workers: bool = True) -> FastAPI:
    """Build the app; the database, store and workers open in its lifespan."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        executor = make_executor(settings)
        runtime = build_runtime(settings, executor)
        app.state.ctx = AppContext(settings=settings, runtime=runtime)
        sweeper: Sweeper | None = None
        if start_workers:
            executor.start(runtime)
            if settings.jobs.executor != "local":
                # Celery workers cannot see each other's crashes; the API process re-delivers
                # jobs whose lease ran out (the local executor runs its own sweeper).
                sweeper = Sweeper(runtime)
                sweeper.start()
        log.info("dealsight ready (executor=%s)", executor.name)
        try:
            yield
        finally:
            if sweeper is not None:
                sweeper.stop()
            if start_workers:
                executor.stop()
            runtime.engine.dispose()

    app = FastAPI(
        title="Dealsight",
        version="0.1.0",
        summary="Conversation intelligence for sales teams",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(webhooks_router)
    app.include_router(conversations_router)
    app.include_router(insights_router)
    app.include_router(competitors_router)
    app.include_router(trackers_router)
    app.include_router(emails_router)
    app.include_router(tenant_router)
    app.include_router(deals_router)
    app.include_router(trends_router)
    app.include_router(experiments_router)
    # The pages for people last: their HTML error handlers wrap the JSON ones above.
    install_pages(app, settings, routers=(experiment_pages_router,))
    add_nav(app, "Experiments", "/experiments")
    return app
