"""The ASGI application of one node: routers of every feature, error mapping, metrics, workers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram, start_http_server
from starlette.exceptions import HTTPException as StarletteHTTPException

from sarhad import __version__
from sarhad.audit.services import record_refusal
from sarhad.core.database import ensure_migrated
from sarhad.core.errors import NotAuthenticated, NotFound, SarhadError
from sarhad.core.i18n import LANGUAGES, current_language
from sarhad.core.node import Node
from sarhad.core.sqlite import SqliteWriters, write_ahead_log_checkpoints_in_background
from sarhad.features import FEATURES, feature_module
from sarhad.web import openapi
from sarhad.web.deps import public
from sarhad.web.forms import LatinDigitsMiddleware, error_page_text
from sarhad.web.middleware import GuardMiddleware, MetricsMiddleware, NoStoreMiddleware
from sarhad.web.templating import PACKAGE_ROOT, render
from sarhad.web.text_guard import refuse_nul

log = logging.getLogger("sarhad.app")
MAX_BODY_BYTES = 32 * 1024 * 1024
JSON_PREFIXES = ("/api/", "/exchange/", "/metrics", "/healthz")


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(JSON_PREFIXES) or "text/html" not in request.headers.get("accept", "")


def create_app(
    node: Node,
    *,
    check_migrations: bool = True,
    run_workers: bool = True,
    freeze_gc: bool = False,
    checkpoint_in_background: bool = False,
) -> FastAPI:
    """Build the app for a node. Refuses to build on an unmigrated database.

    ``freeze_gc`` (``sarhad serve``): once started, move everything built so far (modules, routes, templates,
    caches, workers) out of the garbage collector's sight. It lives as long as the process, and a full
    collection that walks it paused a request for 100–200 ms, about once in a few hundred hotline messages.

    ``checkpoint_in_background`` (``sarhad serve``, SQLite): a task checkpoints the write-ahead log every
    ``CHECKPOINT_SECONDS`` from a thread, so no request or received batch pays for it inside its commit.
    """
    if check_migrations:
        ensure_migrated(node.engine)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        if checkpoint_in_background and node.sqlite is not None:
            write_ahead_log_checkpoints_in_background(node.engine)
            tasks.append(asyncio.create_task(_checkpoint_forever(node.sqlite), name="core.checkpoint"))
        if run_workers:
            for feature in FEATURES:
                module = feature_module(feature, "workers")
                for task in getattr(module, "TASKS", ()):
                    tasks.append(asyncio.create_task(task(node), name=f"{feature}.{task.__name__}"))
        metrics_server = _serve_metrics(node)
        if freeze_gc:
            gc.collect()
            gc.freeze()
        log.info("node %s ready", node.party)
        node.ready = True
        try:
            yield
        finally:
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t

    app = FastAPI(
        title=f"sarhad node {node.party}",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served below from local files: the CDN FastAPI names is refused by our own CSP
        openapi_url="/api/openapi.json",
        redoc_url=None,
        dependencies=[Depends(refuse_nul)],  # no NUL in any text a route takes (sarhad.core.text)
    )
    app.state.node = node
    _install_metrics(app, node)
    _install_errors(app)

    app.add_middleware(NoStoreMiddleware)
    # Numbers typed with Persian or Arabic-Indic digits into page forms are read as ASCII (web.forms).
    app.add_middleware(LatinDigitsMiddleware)
    # Added last, so outermost: an oversized body is refused before anything else runs.
    app.add_middleware(GuardMiddleware, max_body_bytes=MAX_BODY_BYTES, tile_url=node.settings.tile_url)

    @app.get("/healthz", tags=["node"])
    def healthz(_: None = public("liveness probe for operators and the demo")) -> dict[str, Any]:
        return {
            "status": "ok" if node.ready else "starting",
            "party": node.party,
            "name": node.settings.name,
            "version": __version__,
        }

    for feature in FEATURES:
        for module_name in ("api", "pages"):
            module = feature_module(feature, module_name)
            if module is not None and hasattr(module, "router"):
                app.include_router(module.router)

    @app.get("/api/docs", include_in_schema=False)
    def api_docs(
        _: None = public("the API's documentation page; the document itself is public too"),
    ) -> Response:
        return HTMLResponse(API_DOCS_PAGE)

    openapi.install(app)  # every refusal the node answers, declared (sarhad.web.openapi)
    app.mount("/static/leaflet", StaticFiles(directory=_leaflet_dir()), name="leaflet")
    app.mount(
        "/static/leaflet-markercluster", StaticFiles(directory=_markercluster_dir()), name="markercluster"
    )
    app.mount("/static/swagger-ui", StaticFiles(directory=_swagger_ui_dir()), name="swagger-ui")
    app.mount("/static", StaticFiles(directory=PACKAGE_ROOT / "web" / "static"), name="static")
    return app


CHECKPOINT_SECONDS = 0.25


async def _checkpoint_forever(writers: SqliteWriters) -> None:
    """Checkpoint the SQLite write-ahead log from a worker thread, a few times a second."""
    while True:
        await asyncio.sleep(CHECKPOINT_SECONDS)
        try:
            await asyncio.to_thread(writers.checkpoint_round)
        except Exception:  # a locked or busy database: the next round tries again
            log.warning("write-ahead log checkpoint failed", exc_info=True)


API_DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>sarhad API</title>
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/api-docs.js"></script>
</body>
</html>
"""


def _swagger_ui_dir() -> str:
    from swagger_ui_bundle import swagger_ui_path  # Swagger UI from PyPI (swagger-ui-bundle-v2), not a CDN

    return str(swagger_ui_path)


def _serve_metrics(node: Node) -> Any:
    """The Prometheus scrape on its own address (``metrics_address``), if one is configured; None otherwise.

    Not on the node's own port: the counts and latencies per route tell who does what when, so they are for
    the operator's monitoring on a loopback or management address, not for every client of the node."""
    if not node.settings.metrics_address:
        return None
    host, _, port = node.settings.metrics_address.rpartition(":")
    server, _thread = start_http_server(int(port), addr=host.strip("[]"), registry=node.metrics)
    log.info("metrics on http://%s/metrics", node.settings.metrics_address)
    return server


def _leaflet_dir() -> str:
    import xstatic.pkg.leaflet as leaflet  # the front-end asset comes from PyPI, not a CDN

    return str(leaflet.BASE_DIR)


def _markercluster_dir() -> str:
    import xstatic.pkg.leaflet_markercluster as markercluster  # PyPI xstatic-leaflet-markercluster

    return str(markercluster.BASE_DIR)


def _install_metrics(app: FastAPI, node: Node) -> None:
    """Count and time every request into ``node.metrics``; :func:`_serve_metrics` serves them."""
    requests = Counter(
        "sarhad_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=node.metrics
    )
    latency = Histogram(
        "sarhad_http_request_duration_seconds",
        "HTTP request latency",
        ["method", "route"],
        registry=node.metrics,
        buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
    )

    app.add_middleware(MetricsMiddleware, requests=requests, latency=latency)


async def _audit_refusal(request: Request, exc: SarhadError) -> None:
    """Every 403 is an ``access.denied`` entry of the audit log (one per request; docs/audit.md)."""
    principal = getattr(request.state, "principal", None)
    try:
        await asyncio.to_thread(
            record_refusal,
            request.app.state.node,
            actor=getattr(principal, "username", "") or "anonymous",
            method=request.method,
            path=request.url.path,
            code=exc.code.value,
            message=exc.message,
            client_ip=request.client.host if request.client else "",
        )
    except Exception:  # the refusal stands; the failure to record it is logged for the operators
        log.exception("could not audit a refused request to %s", request.url.path)


def _install_errors(app: FastAPI) -> None:
    @app.exception_handler(SarhadError)
    async def sarhad_error(request: Request, exc: SarhadError) -> Response:
        if openapi.shadowed(
            request.app.routes, request.scope
        ):  # the path has no such method: 405 comes first
            return _method_not_allowed(request)
        if exc.status_code == 403:
            await _audit_refusal(request, exc)
        if _wants_json(request):
            headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, NotAuthenticated) else None
            return JSONResponse(exc.to_dict(), status_code=exc.status_code, headers=headers)
        if isinstance(exc, NotAuthenticated):
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        principal = getattr(request.state, "principal", None)
        language = principal.language if principal is not None else request.cookies.get("sarhad_lang", "")
        current_language.set(language if language in LANGUAGES else "en")
        title, explanation = error_page_text(exc.code, exc.status_code)
        return render(
            request,
            "error.html",
            {"title": title, "explanation": explanation, "message": exc.message},
            principal=principal,
            status_code=exc.status_code,
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if openapi.shadowed(request.app.routes, request.scope):
            return _method_not_allowed(request)
        problems = []
        for err in exc.errors():
            location = list(err.get("loc", ()))
            if location and location[0] in ("body", "query", "path", "header", "cookie"):
                location = location[1:]  # where the value came from, not part of the field's name
            where = ".".join(str(p) for p in location)
            problems.append({"field": where, "problem": err.get("msg", "")})
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems) or "invalid request"
        body = {"error": {"code": "invalid", "message": message, "details": {"problems": problems}}}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:  # the methods of the path's own routes, not of the first route matched
            return _method_not_allowed(request)
        code = {404: "not_found"}.get(exc.status_code, "http_error")
        if exc.status_code == 404 and not _wants_json(request):  # a page that does not exist: said in words
            return await sarhad_error(request, NotFound(str(exc.detail)))
        headers = dict(exc.headers or {})
        return JSONResponse(
            {"error": {"code": code, "message": str(exc.detail)}},
            status_code=exc.status_code,
            headers=headers,
        )


def _method_not_allowed(request: Request) -> Response:
    allowed = openapi.allowed_methods(request.app.routes, request.scope)
    return JSONResponse(
        {"error": {"code": "method_not_allowed", "message": f"{request.method} is not allowed here"}},
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )
