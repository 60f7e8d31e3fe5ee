"""The recording behind a conversation, streamed with HTTP Range support so players can seek."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from service.conversations.service import get_conversation
from service.db import SessionDep
from service.errors import NotFound
from service.web.deps import ViewerDep
from service.web.pages.playable import NotPlayable, playable_file

router = APIRouter(include_in_schema=False)


@router.api_route("/conversations/{conversation_id}/audio", methods=["GET", "HEAD"])
def conversation_audio(
    conversation_id: str, request: Request, viewer: ViewerDep, session: SessionDep
) -> FileResponse:
    """The tenant's call recording; Starlette's FileResponse answers Range requests (206)."""
    conv = get_conversation(session, tenant_id=viewer.tenant_id, conversation_id=conversation_id)
    ctx = request.app.state.ctx
    store = ctx.runtime.store
    if conv.kind != "call" or conv.blob_key is None or not store.exists(conv.blob_key):
        raise NotFound("this conversation has no stored recording", code="no_recording")
    try:
        # The media type comes from probing the file, never from what a client claimed.
        path, media_type = playable_file(
            store.local_path(conv.blob_key), conv.blob_key, ctx.settings.data_dir / "renditions"
        )
    except NotPlayable:
        raise NotFound("the stored recording is not playable audio", code="not_playable") from None
    return FileResponse(
        path,
        media_type=media_type,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox",
            "Content-Disposition": "inline",
        },
    )
