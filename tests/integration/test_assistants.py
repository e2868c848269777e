"""Assistant service on SQLite and MariaDB: CRUD, validation, sharing and the IDOR rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from core import db
from core.errors import NotFound, PermissionDenied, ValidationError
from models import (
    Assistant,
    Conversation,
    FilePurpose,
    FileStatus,
    Role,
    SpendEntry,
    SpendKind,
    StoredFile,
    User,
    utcnow,
)
from services.accounts import users as accounts
from services.assistants import manage as svc
from services.assistants.manage import AssistantInput
from services.usage import spend
from tests.factories import make_user


@pytest.fixture
def people(database: str) -> tuple[User, User, User]:
    """An admin (first user) and two members."""
    admin = make_user("root")
    alice = make_user("alice")
    bob = make_user("bob")
    assert admin.role == Role.admin and alice.role == bob.role == Role.member
    return admin, alice, bob


def make(user: User, name: str = "Helper", **fields: object) -> int:
    return svc.create_assistant(user, AssistantInput(name=name, **fields)).id


def test_create_update_and_read_back(people: tuple[User, User, User]) -> None:
    _, alice, _ = people
    created = svc.create_assistant(
        alice,
        AssistantInput(
            name="  Writer  ",
            description="Edits prose",
            instructions="Be brief. " * 3000,
            model="gpt-4o",
            temperature=0.7,
            top_p=0.9,
            tools=["file_search", "web_search"],
        ),
    )
    assert created.id and created.owner_id == alice.id and created.name == "Writer"
    assert created.tools == ["web_search", "file_search"]  # canonical order
    assert not created.shared and created.model == "gpt-4o"
    assert created.model == "gpt-4o" and svc.AssistantInput(name="x").model == "gpt-4.1-mini"

    updated = svc.update_assistant(
        alice, created.id, AssistantInput(name="Editor", model="gpt-4.1", shared=True)
    )
    again = svc.get_assistant_for_edit(alice, created.id)
    assert (again.name, again.model, again.shared, again.tools) == ("Editor", "gpt-4.1", True, [])
    assert again.temperature is None and updated.updated_at >= created.updated_at
    assert len(again.instructions) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"description": "d" * 501}, "description"),
        ({"instructions": "i" * 32_001}, "instructions"),
        ({"model": ""}, "model"),
        ({"temperature": 2.1}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 1.5}, "top_p"),
        ({"tools": ["image_generation"]}, "tools"),
    ],
)
def test_validation_errors_name_the_field(
    people: tuple[User, User, User], fields: dict, field: str
) -> None:
    _, alice, _ = people
    values = {"name": "Valid"} | fields
    with pytest.raises(ValidationError) as caught:
        svc.create_assistant(alice, AssistantInput(**values))
    assert caught.value.field == field and str(caught.value)
    assert svc.list_assistants(alice) == []


def test_limits_are_inclusive(people: tuple[User, User, User]) -> None:
    _, alice, _ = people
    made = svc.create_assistant(
        alice,
        AssistantInput(
            name="n" * 100,
            description="d" * 500,
            instructions="i" * 32_000,
            temperature=2,
            top_p=0,
        ),
    )
    assert len(svc.get_assistant_for_use(alice, made.id).instructions) == 32_000


def test_tools_the_provider_lacks_are_refused(
    people: tuple[User, User, User], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, alice, _ = people
    monkeypatch.setenv("LLM_API", "chat_completions")
    from core.config import get_settings

    get_settings.cache_clear()
    support = svc.tool_support("gpt-4.1-mini")
    assert all("Chat Completions" in reason for reason in support.values())
    with pytest.raises(ValidationError) as caught:
        make(alice, tools=["web_search"])
    assert caught.value.field == "tools"
    assert make(alice, tools=[])  # without tools it is fine
    assert svc.tool_support("my-own-model", get_settings())["web_search"]


def test_sharing_rules(people: tuple[User, User, User]) -> None:
    admin, alice, bob = people
    shared = make(alice, "Shared one", shared=True)
    private = make(alice, "Private one")

    assert svc.get_assistant_for_use(bob, shared).name == "Shared one"
    with pytest.raises(PermissionDenied):
        svc.get_assistant_for_edit(bob, shared)
    with pytest.raises(PermissionDenied):
        svc.update_assistant(bob, shared, AssistantInput(name="Hijacked"))
    with pytest.raises(PermissionDenied):
        svc.delete_assistant(bob, shared)

    # Admins can use and edit anything, even private assistants.
    assert svc.get_assistant_for_use(admin, private).id == private
    svc.update_assistant(admin, private, AssistantInput(name="Renamed by admin"))
    assert svc.get_assistant_for_edit(alice, private).name == "Renamed by admin"

    names = {s.name: s for s in svc.list_assistants(bob)}
    assert set(names) == {"Shared one"}
    assert not names["Shared one"].can_edit and not names["Shared one"].is_mine
    assert names["Shared one"].owner_name == "alice"
    assert all(s.can_edit for s in svc.list_assistants(alice))
    assert {s.name for s in svc.list_assistants(admin)} == {"Shared one"}


ServiceCall = Callable[[User, int], object]
IDOR_CALLS: dict[str, ServiceCall] = {
    "read": svc.get_assistant_for_use,
    "edit": svc.get_assistant_for_edit,
    "update": lambda user, aid: svc.update_assistant(user, aid, AssistantInput(name="Mine now")),
    "duplicate": svc.duplicate_assistant,
    "delete": svc.delete_assistant,
}


@pytest.mark.parametrize("call", IDOR_CALLS.values(), ids=IDOR_CALLS.keys())
def test_idor_private_assistant_is_not_found(
    people: tuple[User, User, User], call: ServiceCall
) -> None:
    _, alice, bob = people
    private = make(alice, "Diary", instructions="secret")
    with pytest.raises(NotFound) as foreign:
        call(bob, private)
    with pytest.raises(NotFound) as missing:
        call(bob, private + 1000)
    assert str(foreign.value) == str(missing.value)  # existence is never leaked
    assert svc.get_assistant_for_use(alice, private).name == "Diary"
    assert [s.name for s in svc.list_assistants(bob)] == []


def test_duplicate_makes_a_private_copy(people: tuple[User, User, User]) -> None:
    _, alice, bob = people
    source = make(alice, "x" * 100, shared=True, tools=["web_search"], temperature=0.3)
    copy = svc.duplicate_assistant(bob, source)
    assert copy.owner_id == bob.id and not copy.shared and copy.id != source
    assert copy.name == ("Copy of " + "x" * 100)[:100]
    assert copy.tools == ["web_search"] and copy.temperature == 0.3
    assert copy.vector_store_id is None
    assert svc.get_assistant_for_edit(bob, copy.id).id == copy.id


def test_delete_keeps_conversations_readable(people: tuple[User, User, User]) -> None:
    _, alice, bob = people
    aid = make(alice, "Doomed", shared=True)
    with db.session_scope() as session:
        session.add(Conversation(owner_id=bob.id, assistant_id=aid, title="Bob's chat"))
        session.add(
            StoredFile(
                owner_id=alice.id,
                name="notes.txt",
                purpose=FilePurpose.knowledge,
                status=FileStatus.failed,
                assistant_id=aid,
            )
        )
    svc.delete_assistant(alice, aid)
    with pytest.raises(NotFound):
        svc.get_assistant_for_use(alice, aid)
    with db.session_scope() as session:
        chat = session.exec(sa.select(Conversation)).scalars().one()
        files = session.exec(sa.select(StoredFile)).scalars().all()
    assert chat.title == "Bob's chat" and chat.assistant_id is None
    assert files == []


def test_list_counts_search_and_sort(people: tuple[User, User, User]) -> None:
    _, alice, bob = people
    alpha = make(alice, "Alpha", description="Writes 100% _literal_ text")
    beta = make(alice, "beta", description="Plans trips", tools=["file_search"])
    make(bob, "Gamma", shared=True)
    make(bob, "Bob's private")
    with db.session_scope() as session:
        for _ in range(3):
            session.add(Conversation(owner_id=alice.id, assistant_id=beta))
        for status in (FileStatus.ready, FileStatus.processing, FileStatus.failed):
            session.add(
                StoredFile(
                    owner_id=alice.id,
                    name="f.md",
                    purpose=FilePurpose.knowledge,
                    status=status,
                    assistant_id=beta,
                )
            )
        # MariaDB DATETIME keeps whole seconds: make the others clearly older.
        hour_ago = utcnow() - timedelta(hours=1)
        session.exec(sa.update(Assistant).values(updated_at=hour_ago))
        session.exec(
            sa.update(Assistant).where(Assistant.id == alpha).values(last_used_at=utcnow())
        )

    rows = svc.list_assistants(alice)
    assert [r.name for r in rows][0] == "Alpha"  # just used
    assert {r.name for r in rows} == {"Alpha", "beta", "Gamma"}
    by_name = {r.name: r for r in rows}
    assert (by_name["beta"].conversations, by_name["beta"].knowledge_files) == (3, 2)
    assert by_name["Alpha"].last_used_at is not None and by_name["beta"].last_used_at is None
    assert by_name["beta"].model_label == "GPT-4.1 mini" and by_name["beta"].tools == [
        "file_search"
    ]
    assert [r.name for r in svc.list_assistants(alice, sort="name")] == ["Alpha", "beta", "Gamma"]
    assert [r.name for r in svc.list_assistants(alice, query="TRIPS")] == ["beta"]
    assert [r.name for r in svc.list_assistants(alice, query="100%")] == ["Alpha"]
    assert [r.name for r in svc.list_assistants(alice, query="_lit")] == ["Alpha"]
    assert svc.list_assistants(alice, query="a%s") == []  # % is literal, not a wildcard
    with pytest.raises(ValidationError):
        svc.list_assistants(alice, sort="size")


def test_list_is_one_query(people: tuple[User, User, User]) -> None:
    _, alice, _ = people
    for index in range(8):
        make(alice, f"A{index}")
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    sa.event.listen(db.get_engine(), "before_cursor_execute", count)
    try:
        assert len(svc.list_assistants(alice)) == 8
    finally:
        sa.event.remove(db.get_engine(), "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


@pytest.mark.parametrize(
    ("typed", "micros", "shown"),
    [("25", 25_000_000, "25"), ("$12.50", 12_500_000, "12.5"), ("0", 0, "0"), ("", None, "")],
)
def test_assistant_budget_is_stored_in_micros(
    people: tuple[User, User, User], typed: str, micros: int | None, shown: str
) -> None:
    _, alice, _ = people
    assistant_id = make(alice, monthly_budget_usd=typed)
    stored = svc.get_assistant_for_edit(alice, assistant_id)
    assert stored.monthly_budget_micros == micros
    assert AssistantInput.from_assistant(stored).monthly_budget_usd == shown


@pytest.mark.parametrize("typed", ["lots", "-5", "2000000"])
def test_assistant_budget_must_be_an_amount(people: tuple[User, User, User], typed: str) -> None:
    _, alice, _ = people
    with pytest.raises(ValidationError) as info:
        make(alice, monthly_budget_usd=typed)
    assert info.value.field == "monthly_budget"


def test_a_stale_user_object_loses_rights_at_once(people: tuple[User, User, User]) -> None:
    """A page keeps the User it was opened with; services must re-read it every time."""
    from core.errors import AuthError
    from services.accounts import admin as admin_svc
    from services.chat import conversations

    root, alice, _ = people
    private = make(root, "Root's private")
    admin_svc.set_role(root, alice.id, "admin")
    promoted = accounts.authenticate("alice", "password123")  # what alice's open page holds
    assert svc.get_assistant_for_edit(promoted, private).name == "Root's private"

    admin_svc.set_role(root, alice.id, "member")
    with pytest.raises(NotFound):
        svc.update_assistant(promoted, private, AssistantInput(name="hijacked"))

    conversation = conversations.create_conversation(promoted, make(promoted, "Mine"))
    admin_svc.set_active(root, alice.id, False)
    with pytest.raises(AuthError):
        conversations.rename_conversation(promoted, conversation.id, "still here?")
    with pytest.raises(AuthError):
        svc.create_assistant(promoted, AssistantInput(name="New"))
    assert svc.get_assistant_for_use(root, private).name == "Root's private"


def test_only_admins_enter_models_missing_from_the_catalog(
    people: tuple[User, User, User],
) -> None:
    root, alice, _ = people
    with pytest.raises(ValidationError, match="only administrators") as info:
        make(alice, model="my-local-llama")
    assert info.value.field == "model"
    custom = make(root, model="my-local-llama", shared=True)
    assert svc.get_assistant_for_use(alice, custom).model == "my-local-llama"
    # The owner may keep an uncatalogued model when editing other fields.
    mine = svc.create_assistant(root, AssistantInput(name="Mine", model="my-local-llama"))
    svc.update_assistant(root, mine.id, AssistantInput(name="Renamed", model="my-local-llama"))


def _spend(assistant_id: int, micros: int, at: datetime) -> None:
    with db.session_scope() as session:
        session.add(
            SpendEntry(
                kind=SpendKind.reply, assistant_id=assistant_id, cost_micros=micros, created_at=at
            )
        )


def test_assistant_forecast_for_its_owner_and_admins(people: tuple[User, User, User]) -> None:
    admin, alice, bob = people
    assistant_id = make(alice, shared=True, monthly_budget_usd="20")
    ten_days_in = datetime(2026, 11, 11, tzinfo=UTC)  # 10 days of November elapsed
    _spend(assistant_id, 10_000_000, datetime(2026, 11, 3, tzinfo=UTC))
    _spend(assistant_id, 99_000_000, datetime(2026, 10, 30, tzinfo=UTC))  # last month: not counted
    forecast = spend.assistant_forecast(alice, assistant_id, ten_days_in)
    assert forecast.month_end_micros == 30_000_000  # $1 a day over 30 days
    assert forecast.cap_day == date(2026, 11, 21)  # $10 left at $1 a day
    assert forecast.sentence("this assistant") == (
        "At this pace this assistant spends about $30.00 this month"
        " and reaches its cap around 21 Nov."
    )
    assert spend.assistant_forecast(admin, assistant_id, ten_days_in) == forecast
    with pytest.raises(PermissionDenied):
        spend.assistant_forecast(bob, assistant_id, ten_days_in)  # a teammate using the shared one


def test_copied_budget_changes_only_by_the_originals_owner_or_an_admin(
    people: tuple[User, User, User],
) -> None:
    admin, alice, bob = people
    source = make(alice, "Team bot", shared=True, monthly_budget_usd="5")
    copy = svc.duplicate_assistant(bob, source)
    assert copy.monthly_budget_micros == 5_000_000
    form = AssistantInput.from_assistant(copy)
    for typed in ("50", "", "1"):  # raising, removing, even lowering it
        with pytest.raises(ValidationError) as info:
            svc.update_assistant(bob, copy.id, replace(form, monthly_budget_usd=typed))
        assert info.value.field == "monthly_budget"
    renamed = svc.update_assistant(bob, copy.id, replace(form, name="Bob's bot"))  # the rest: fine
    assert (renamed.name, renamed.monthly_budget_micros) == ("Bob's bot", 5_000_000)
    copy_of_copy = svc.duplicate_assistant(bob, copy.id)
    with pytest.raises(ValidationError):  # a copy of the copy is no way out
        svc.update_assistant(bob, copy_of_copy.id, replace(form, monthly_budget_usd="50"))
    assert svc.update_assistant(admin, copy.id, replace(form, monthly_budget_usd="50"))
    assert db_budget(copy.id) == 50_000_000
    svc.delete_assistant(alice, source)  # the lock outlives the original
    with pytest.raises(ValidationError):
        svc.update_assistant(bob, copy.id, replace(form, monthly_budget_usd=""))
    # Alice's own copy of her assistant, and a copy of an assistant without a budget, are free.
    own = svc.duplicate_assistant(alice, make(alice, "Mine", monthly_budget_usd="5"))
    assert svc.update_assistant(alice, own.id, replace(form, monthly_budget_usd="")).id == own.id
    free = svc.duplicate_assistant(bob, make(alice, "Open", shared=True))
    svc.update_assistant(bob, free.id, replace(form, monthly_budget_usd="3"))
    assert db_budget(free.id) == 3_000_000


def db_budget(assistant_id: int) -> int | None:
    with db.session_scope() as session:
        return session.get(Assistant, assistant_id).monthly_budget_micros
