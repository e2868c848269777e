"""Assistant pages through NiceGUI's simulated user."""

from __future__ import annotations

from nicegui import ui
from nicegui.testing import User

from core.db import session_scope
from models import SpendEntry, SpendKind
from services.accounts import users as accounts
from services.assistants import knowledge
from services.assistants import manage as svc
from services.assistants.manage import AssistantInput
from tests.factories import make_user
from tests.ui.helpers import log_out, sign_in, signed_up


async def new_assistant(user: User, name: str, description: str = "") -> None:
    await user.open("/assistants/new")
    user.find("Name").type(name)
    if description:
        user.find("Description").type(description)
    user.find(kind=ui.button, content="Save").click()


async def test_empty_state_then_create_with_errors_then_success(user: User) -> None:
    await signed_up(user, "alice")
    await user.open("/assistants")
    await user.should_see("No assistants yet")
    user.find(kind=ui.button, content="New assistant").click()
    await user.should_see("Instructions")

    user.find(kind=ui.button, content="Save").click()
    await user.should_see("Give the assistant a name.")
    user.find("Name").type("Tutor")
    user.find("Temperature").type("3")
    user.find(kind=ui.button, content="Save").click()
    await user.should_see("Temperature must be between 0 and 2.")

    user.find("Temperature").clear()
    user.find("Instructions").type("Explain step by step.")
    user.find(kind=ui.button, content="Save").click()
    await user.should_see("Created “Tutor”.")
    await user.should_see(kind=ui.button, content="Chat", retries=20)
    [made] = svc.list_assistants(accounts.authenticate("alice", "password123"))
    assert (made.name, made.model) == ("Tutor", "gpt-4.1-mini")
    assert user.back_history[-1] == f"/assistants/{made.id}"


async def test_edit_and_see_it_listed(user: User) -> None:
    await signed_up(user, "bob")
    await new_assistant(user, "Planner", "Plans trips")
    await user.should_see("Created “Planner”.")
    await user.should_see(kind=ui.button, content="Chat", retries=20)
    user.find("Name").clear().type("Trip planner")
    user.find("Shared with team").click()
    user.find(kind=ui.button, content="Save").click()
    await user.should_see("Saved.")

    await user.open("/assistants")
    await user.should_see("Trip planner")
    await user.should_see("Plans trips")
    await user.should_see("Shared")
    await user.should_see("GPT-4.1 mini")
    await user.should_see("0 chats")
    await user.should_not_see("Planner\n")


async def test_search_filters_as_you_type(user: User) -> None:
    await signed_up(user, "carol")
    owner = accounts.authenticate("carol", "password123")
    for name, description in [("Poet", "Writes verse"), ("Coder", "Reviews Python"), ("Chef", "")]:
        svc.create_assistant(owner, AssistantInput(name=name, description=description))
    await user.open("/assistants")
    await user.should_see("Poet")
    user.find("Search").type("python")
    await user.should_see("Coder")
    await user.should_not_see("Poet")
    await user.should_not_see("Chef")
    user.find("Search").clear().type("nothing like this")
    await user.should_see("No assistants match")
    user.find(kind=ui.button, content="Clear search").click()
    await user.should_see("Poet")
    await user.should_see("Chef")


async def test_delete_with_confirmation(user: User) -> None:
    await signed_up(user, "dave")
    owner = accounts.authenticate("dave", "password123")
    keep = svc.create_assistant(owner, AssistantInput(name="Keeper"))
    doomed = svc.create_assistant(owner, AssistantInput(name="Doomed"))
    await user.open("/assistants")
    user.find(marker=f"delete-{doomed.id}").click()
    await user.should_see("Delete “Doomed”?")
    await user.should_see("Conversations with it are kept")
    user.find(kind=ui.button, content="Cancel").click()
    assert len(svc.list_assistants(owner)) == 2

    user.find(marker=f"delete-{doomed.id}").click()
    user.find(kind=ui.button, content="Delete assistant").click()
    await user.should_see("Deleted “Doomed”.", retries=20)
    await user.should_not_see(marker=f"assistant-{doomed.id}")
    assert [a.id for a in svc.list_assistants(owner)] == [keep.id]


async def test_duplicate_and_teammate_rules(user: User) -> None:
    await signed_up(user, "erin")  # admin
    await log_out(user)
    await signed_up(user, "frank")
    frank = accounts.authenticate("frank", "password123")
    shared = svc.create_assistant(frank, AssistantInput(name="Team bot", shared=True))
    private = svc.create_assistant(frank, AssistantInput(name="Frank's diary"))
    await log_out(user)
    make_user("gina")
    await sign_in(user, "gina")
    await user.should_see("Welcome, gina", retries=50)

    await user.open("/assistants")
    await user.should_see("Shared by frank")
    await user.should_not_see("Frank's diary")
    await user.should_not_see(marker=f"delete-{shared.id}")
    user.find(marker=f"duplicate-{shared.id}").click()
    await user.should_see("Copy of Team bot")

    await user.open(f"/assistants/{shared.id}")
    await user.should_see("Only its owner or an admin can change it.")
    await user.should_not_see(kind=ui.button, content="Save")

    await user.open(f"/assistants/{private.id}")
    await user.should_see("Page not found")
    await user.open("/assistants/999999")
    await user.should_see("Page not found")


async def test_cancel_with_unsaved_changes_asks_first(user: User) -> None:
    await signed_up(user, "hank")
    await user.open("/assistants/new")
    user.find("Name").type("Half done")
    user.find(marker="cancel").click()
    await user.should_see("Discard unsaved changes?")
    user.find(kind=ui.button, content="Keep editing").click()
    await user.should_not_see("Discard unsaved changes?")
    user.find(marker="cancel").click()
    await user.should_see("Discard unsaved changes?")
    user.find(kind=ui.button, content="Discard").click()
    await user.should_see("No assistants yet")


async def test_tools_the_provider_lacks_are_disabled(user: User, monkeypatch) -> None:
    monkeypatch.setenv("LLM_API", "chat_completions")
    from core.config import get_settings

    get_settings.cache_clear()
    await signed_up(user, "ivan")
    await user.open("/assistants/new")
    await user.should_see("Not available: the Chat Completions provider has no built-in tools.")
    switch = user.find("Web search").elements.pop()
    assert not switch.enabled


async def test_knowledge_files_turn_ready_and_refusals_are_explained(user: User) -> None:
    await signed_up(user, "jane")
    owner = accounts.authenticate("jane", "password123")
    made = svc.create_assistant(owner, AssistantInput(name="Librarian", tools=["file_search"]))
    await user.open(f"/assistants/{made.id}")
    await user.should_see("No files yet.")
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads(
        [
            ui.upload.SmallFileUpload("guide.md", "text/markdown", b"# Guide\nBe kind."),
            ui.upload.SmallFileUpload("virus.txt", "text/plain", b"MZ\x00\x00binary"),
        ]
    )
    await user.should_see("failed (virus.txt is not a text file", retries=30)
    await user.should_see(marker="status-guide.md", retries=30)
    await user.should_see("ready", retries=50)
    assert [(f.name, f.status) for f in knowledge.list_files(owner, made.id)] == [
        ("guide.md", "ready")
    ]
    user.find(marker="remove-guide.md").click()
    await user.should_see("Removed guide.md.", retries=30)
    assert knowledge.list_files(owner, made.id) == []


async def test_knowledge_says_documents_are_not_supported_without_files(
    user: User, monkeypatch
) -> None:
    monkeypatch.setenv("LLM_FILES", "none")  # e.g. a gateway with Responses but no Files API
    from core.config import get_settings

    get_settings.cache_clear()
    await signed_up(user, "kate")
    owner = accounts.authenticate("kate", "password123")
    made = svc.create_assistant(owner, AssistantInput(name="Librarian", tools=["file_search"]))
    await user.open(f"/assistants/{made.id}")
    await user.should_see("Documents are not supported by this provider.", retries=30)
    await user.should_not_see("No files yet.")


async def test_forecast_shows_to_the_owner_only(user: User) -> None:
    await signed_up(user, "erin")  # admin
    await log_out(user)
    await signed_up(user, "frank")
    frank = accounts.authenticate("frank", "password123")
    shared = svc.create_assistant(frank, AssistantInput(name="Team bot", shared=True))
    with session_scope() as session:
        session.add(SpendEntry(kind=SpendKind.reply, assistant_id=shared.id, cost_micros=4_000_000))
    await user.open(f"/assistants/{shared.id}")
    await user.should_see("At this pace this assistant spends about $", retries=50)
    await log_out(user)
    make_user("gina")
    await sign_in(user, "gina")
    await user.should_see("Welcome, gina", retries=50)
    await user.open(f"/assistants/{shared.id}")
    await user.should_see("Only its owner or an admin can change it.", retries=50)
    await user.should_not_see(marker="assistant-forecast")


async def test_copied_budget_is_read_only_on_the_copy(user: User) -> None:
    make_user("erin")  # admin
    frank = make_user("frank")
    shared = svc.create_assistant(
        frank, AssistantInput(name="Team bot", shared=True, monthly_budget_usd="5")
    )
    await signed_up(user, "gina")
    gina = accounts.authenticate("gina", "password123")
    copy = svc.duplicate_assistant(gina, shared.id)
    await user.open(f"/assistants/{copy.id}")
    await user.should_see("Copy of Team bot", retries=50)
    budget = user.find("Monthly budget (USD)").elements.pop()
    assert budget.value == "5"
    assert "readonly" in budget.props
    assert "only its owner or an admin" in budget.props["hint"]


async def test_the_same_knowledge_file_twice_is_refused_with_a_reason(user: User) -> None:
    await signed_up(user, "jane")
    owner = accounts.authenticate("jane", "password123")
    made = svc.create_assistant(owner, AssistantInput(name="Librarian", tools=["file_search"]))
    await user.open(f"/assistants/{made.id}")
    await user.should_see("No files yet.")
    upload = user.find(ui.upload).elements.pop()
    guide = ui.upload.SmallFileUpload("guide.md", "text/markdown", b"# Guide\nBe kind.")
    await upload.handle_uploads([guide])
    await user.should_see("ready", retries=50)
    await upload.handle_uploads([guide])
    await user.should_see("“guide.md” is already in the list.", retries=30)
    await user.should_see("failed (already added", retries=30)
    assert [f.name for f in knowledge.list_files(owner, made.id)] == ["guide.md"]


async def test_knowledge_files_picked_before_the_first_save_are_added_by_it(user: User) -> None:
    await signed_up(user, "lena")
    await user.open("/assistants/new")
    user.find("Name").type("Librarian")
    user.find("File search").click()
    upload = user.find(ui.upload).elements.pop()
    await upload.handle_uploads(
        [
            ui.upload.SmallFileUpload("guide.md", "text/markdown", b"# Guide\nBe kind."),
            ui.upload.SmallFileUpload("virus.txt", "text/plain", b"MZ\x00\x00binary"),
        ]
    )
    await user.should_see("added when you save", retries=30)
    await user.should_see("failed (virus.txt is not a text file", retries=30)
    owner = accounts.authenticate("lena", "password123")
    assert svc.list_assistants(owner) == []  # nothing is stored before the save
    user.find(kind=ui.button, content="Save").click()
    await user.should_see("Created “Librarian”.", retries=30)
    await user.should_see(kind=ui.button, content="Chat", retries=50)
    [made] = svc.list_assistants(owner)
    await user.should_see("ready", retries=50)
    assert [(f.name, f.status) for f in knowledge.list_files(owner, made.id)] == [
        ("guide.md", "ready")
    ]
