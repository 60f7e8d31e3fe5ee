"""Static assets: our stylesheet and script, and plotly.js read from the installed package."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import metadata, resources

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

YEAR = "public, max-age=31536000, immutable"


@dataclass(frozen=True, slots=True)
class Asset:
    """A file served from memory with a content hash for cache busting."""

    body: bytes
    media_type: str
    etag: str


@dataclass(frozen=True, slots=True)
class Assets:
    """Everything the pages load, read once when the app is built."""

    files: dict[str, Asset]

    def url(self, name: str) -> str:
        """The URL of an asset, versioned by its content so long caching is safe."""
        return f"/static/{name}?v={self.files[name].etag[:12]}"


def _asset(body: bytes, media_type: str) -> Asset:
    return Asset(body=body, media_type=media_type, etag=hashlib.sha256(body).hexdigest())


def load_assets() -> Assets:
    """Read our static files and plotly.min.js from the plotly package (no CDN, no copy here)."""
    ours = resources.files("service.web") / "static"
    try:
        plotly_js = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        version = _version("plotly")
        raise RuntimeError(
            f"plotly.min.js not found in the installed plotly package ({version}): "
            "reinstall the dependencies (pip install -r .ci/requirements.lock)"
        ) from exc
    return Assets(
        files={
            "style.css": _asset((ours / "style.css").read_bytes(), "text/css; charset=utf-8"),
            "app.js": _asset((ours / "app.js").read_bytes(), "text/javascript; charset=utf-8"),
            "vendor/plotly.min.js": _asset(plotly_js, "text/javascript; charset=utf-8"),
        }
    )


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def asset_urls(app: FastAPI) -> dict[str, str]:
    """Versioned URLs of the assets, for the base template."""
    assets: Assets = app.state.web_assets
    return {name: assets.url(name) for name in assets.files}


router = APIRouter(include_in_schema=False)


@router.get("/static/{name:path}")
def static_file(name: str, request: Request) -> Response:
    """One asset, with a strong ETag and a year of caching (URLs change with the content)."""
    assets: Assets = request.app.state.web_assets
    asset = assets.files.get(name)
    if asset is None:
        return Response("not found", status_code=404, media_type="text/plain")
    etag = f'"{asset.etag}"'
    headers = {"ETag": etag, "Cache-Control": YEAR, "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)
