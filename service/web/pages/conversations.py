"""The conversation page: transcript with speakers, highlighted evidence, an audio player."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.db import SessionDep
from service.web.deps import ViewerDep
from service.web.pages.conversation_view import conversation_view
from service.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/conversations/{conversation_id}")
def conversation_page(
    conversation_id: str, request: Request, viewer: ViewerDep, session: SessionDep
) -> HTMLResponse:
    """One call (or email) with every quote linked to its moment in the recording."""
    view = conversation_view(session, tenant_id=viewer.tenant_id, conversation_id=conversation_id)
    return render(request, "conversation.html", {"v": view, "c": view.conversation})
