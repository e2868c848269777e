"""Everything the chat page draws for one conversation, read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from core.db import session_scope
from core.errors import NotFound
from models import Folder, User
from services.assistants.manage import list_assistants
from services.chat.conversations import (
    ConversationPage,
    ConversationView,
    conversation_items,
    view_in,
)
from services.chat.folders import folders_in
from services.chat.turn import CostPreview, preview_in, usable_assistant
from services.files.attachments import Attachment, pending_in
from services.usage.storage import expiry_notice


@dataclass(frozen=True)
class ChatPage:
    """The conversation, its cost preview, the sidebar and the composer's pending files.

    `preview` and `model` are None when the assistant is gone (the conversation is then
    read-only); `storage_notice` warns before the chat's documents expire."""

    view: ConversationView
    preview: CostPreview | None
    model: str | None
    assistants: list[tuple[int, str]]
    conversations: ConversationPage
    folders: list[Folder]
    pending: list[Attachment]
    storage_notice: str | None


def load_chat_page(user: User, conversation_id: int) -> ChatPage:
    """One read for the whole page (NotFound when the conversation is not the user's)."""
    with session_scope() as session:
        view = view_in(session, user, conversation_id)
        preview = model = None
        try:
            usable = usable_assistant(session, user, view.conversation)
            preview = preview_in(session, view.conversation, usable)
            model = usable.model
        except NotFound:  # the assistant is gone: the conversation is read-only
            pass
        return ChatPage(
            view=view,
            preview=preview,
            model=model,
            assistants=[(a.id, a.name) for a in list_assistants(user, session=session)],
            conversations=conversation_items(session, user),
            folders=folders_in(session, user),
            pending=pending_in(session, user, conversation_id) if model else [],
            storage_notice=expiry_notice(view.conversation),
        )
