"""The recording behind a conversation, streamed with HTTP Range support so players can seek."""

from __future__ import annotations

import mimetypes

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from service.conversations.service import get_conversation
from service.db import SessionDep
from service.errors import NotFound
from service.web.deps import ViewerDep

router = APIRouter(include_in_schema=False)


def audio_media_type(stored: str | None, filename: str | None) -> str:
    """An audio/video type for the blob; anything else a client claimed is not trusted."""
    for candidate in (stored, mimetypes.guess_type(filename or "")[0]):
        base = (candidate or "").split(";")[0].strip().lower()
        if base.startswith(("audio/", "video/")) and base.isascii() and " " not in base:
            return base
    return "application/octet-stream"


@router.api_route("/conversations/{conversation_id}/audio", methods=["GET", "HEAD"])
def conversation_audio(
    conversation_id: str, request: Request, viewer: ViewerDep, session: SessionDep
) -> FileResponse:
    """The stored recording of the tenant's call (Starlette's FileResponse answers Range)."""
    conv = get_conversation(session, tenant_id=viewer.tenant_id, conversation_id=conversation_id)
    store = request.app.state.ctx.runtime.store
    if conv.kind != "call" or conv.blob_key is None or not store.exists(conv.blob_key):
        raise NotFound("this conversation has no stored recording", code="no_recording")
    return FileResponse(
        store.local_path(conv.blob_key),
        media_type=audio_media_type(conv.media_type, conv.filename),
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Content-Disposition": "inline",
        },
    )
