"""Names and titles never become element attributes (NiceGUI parses props strings)."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from services.accounts import users as accounts
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations
from tests.ui.helpers import signed_up

EVIL = 'Helper" onmouseover="document.title=\'PWNED\'" x="'


async def test_quotes_in_names_stay_inside_the_label(user: User) -> None:
    await signed_up(user, "alice")
    alice = accounts.authenticate("alice", "password123")
    assistant = create_assistant(alice, AssistantInput(name=EVIL, shared=True))
    conversation = conversations.create_conversation(alice, assistant.id)
    conversations.rename_conversation(alice, conversation.id, EVIL)

    await user.open("/")
    await user.should_see("Most-used assistants", retries=30)
    elements = [*user.find(kind=ui.button, content="Chat").elements]
    elements += [*user.find(kind=ui.link).elements]
    labelled = [e for e in elements if "aria-label" in e.props]
    assert {e.props["aria-label"] for e in labelled} >= {f"Chat with {EVIL}"}
    assert not any("onmouseover" in e.props or "x" in e.props for e in elements)
