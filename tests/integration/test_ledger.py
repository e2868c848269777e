"""The spend ledger and reservations (issue 11): each hole, on SQLite and MariaDB.

Real turns run through the real SDK against the simulator; budgets are set the way the admin
page does. Each test fails on the code before the ledger (spend = sum of existing messages).
"""

from __future__ import annotations

import asyncio
import csv
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlmodel import select

from core.config import get_settings
from core.db import session_scope
from core.errors import BudgetExceeded
from models import ConversationMessage, MessageStatus, Reservation, SpendEntry, SpendKind, User
from services.accounts import admin, profile
from services.accounts.users import create_user
from services.assistants.manage import AssistantInput, create_assistant
from services.chat import conversations, generation
from services.chat import turn as chat
from services.llm.catalog import load_catalog
from services.usage import spend as usage
from services.usage.pricing import estimate_tokens, worst_case_micros
from simulator.server import SimulatorServer
from tests.simulator_fixtures import TEST_API_KEY


@pytest.fixture
def alice(database: str, llm_env: SimulatorServer) -> User:
    create_user("root", "password123")  # the first account is the admin
    return create_user("alice", "password123")


def admin_user() -> User:
    with session_scope() as session:
        return session.exec(select(User).order_by(User.id)).first()


def new_chat(owner: User, **fields: object) -> int:
    assistant = create_assistant(owner, AssistantInput(name="Helper", model="gpt-4.1-mini"))
    return conversations.create_conversation(owner, assistant.id).id


async def finished(turn: chat.Turn) -> ConversationMessage:
    await generation.wait(turn.assistant_message_id)
    with session_scope() as session:
        return session.get(ConversationMessage, turn.assistant_message_id)


def model_calls(sim: SimulatorServer) -> int:
    return sum(1 for r in sim.requests if r["path"] in ("/v1/responses", "/v1/chat/completions"))


def ledger() -> list[SpendEntry]:
    with session_scope() as session:
        return list(session.exec(select(SpendEntry).order_by(SpendEntry.id)))


async def test_reply_is_billed_once_in_the_ledger_and_matches_the_message(alice: User) -> None:
    reply = await finished(await chat.send(alice, new_chat(alice), "Hello in a few words"))
    rows = ledger()
    assert [(r.kind, r.user_id, r.message_id) for r in rows] == [
        (SpendKind.reply, alice.id, reply.id)
    ]
    row = rows[0]
    assert row.cost_micros == reply.cost_micros > 0
    assert (row.input_tokens, row.output_tokens) == (reply.input_tokens, reply.output_tokens)
    assert row.model_alias == "gpt-4.1-mini" and row.user_label == "alice"
    assert row.assistant_label == "Helper" and row.price_source == "usage"
    with session_scope() as session:  # the reservation is settled, nothing held any more
        open_ = session.exec(select(Reservation).where(Reservation.settled_at.is_(None))).all()
    assert open_ == []


async def test_deleting_a_conversation_keeps_its_spend(alice: User) -> None:
    """Hole 1: a user at the cap deleted a chat and could spend again."""
    chat_id = new_chat(alice)
    reply = await finished(await chat.send(alice, chat_id, "Hello in a few words"))
    spent = usage.budget_status(alice).used_micros
    assert spent == reply.cost_micros > 0
    admin.set_budget(admin_user(), alice.id, Decimal(spent) / 1_000_000)
    conversations.delete_conversation(alice, chat_id)
    assert usage.budget_status(alice).used_micros == spent
    with pytest.raises(BudgetExceeded, match="your monthly budget"):
        await chat.send(alice, new_chat(alice), "Spend again")
    assert ledger()[0].conversation_label == "Hello in a few words"  # the label outlives it


async def test_deleting_an_account_anonymizes_its_spend(alice: User) -> None:
    reply = await finished(await chat.send(alice, new_chat(alice), "Hello in a few words"))
    root = admin_user()
    before = usage.month_totals(root, everyone=True).this.cost_micros
    profile.delete_account(alice, "password123")
    assert usage.month_totals(root, everyone=True).this.cost_micros == before == reply.cost_micros
    (row,) = ledger()
    assert (row.user_id, row.user_label, row.conversation_label) == (None, "Deleted user", "")
    groups = usage.usage_by_user(root)
    assert [(g.label, g.cost_micros) for g in groups] == [("Deleted user", reply.cost_micros)]


async def test_retry_regenerate_and_edit_are_reserved_and_refused_at_the_cap(
    alice: User, llm_env: SimulatorServer
) -> None:
    """Hole 2: the replacement path never checked the budget."""
    chat_id = new_chat(alice)
    await finished(await chat.send(alice, chat_id, "Hello in a few words"))
    regenerated = await finished(await chat.regenerate(alice, chat_id))
    edited = await finished(await chat.edit(alice, chat_id, "Hi in two words"))
    kinds = [r.kind for r in ledger()]
    assert kinds == [SpendKind.reply, SpendKind.regenerate, SpendKind.edit]
    assert regenerated.status == edited.status == MessageStatus.complete
    # Every answer ever made stays billed although only the last one is left.
    assert usage.budget_status(alice).used_micros == sum(r.cost_micros for r in ledger())
    admin.set_budget(admin_user(), alice.id, "0")
    calls = model_calls(llm_env)
    for again in (chat.regenerate(alice, chat_id), chat.edit(alice, chat_id, "x")):
        with pytest.raises(BudgetExceeded, match="your monthly budget"):
            await again
    assert model_calls(llm_env) == calls


async def test_a_failed_reply_is_retried_as_a_retry(alice: User, llm_env: SimulatorServer) -> None:
    chat_id = new_chat(alice)
    llm_env.configure(fail_next=[400])
    failed = await finished(await chat.send(alice, chat_id, "Hello"))
    assert failed.status == MessageStatus.failed
    assert ledger() == []  # nothing was billed, and the reservation is released
    await finished(await chat.regenerate(alice, chat_id))
    assert [r.kind for r in ledger()] == [SpendKind.retry]


async def test_split_summary_is_reserved_billed_and_refused_at_the_cap(
    alice: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hole 2: the summary call made when a conversation splits never checked the budget."""
    monkeypatch.setenv("MAX_MESSAGES_PER_CONVERSATION", "4")
    get_settings.cache_clear()
    chat_id = new_chat(alice)
    for text in ("first question", "second question"):
        await finished(await chat.send(alice, chat_id, text))
    spent = usage.budget_status(alice).used_micros
    admin.set_budget(admin_user(), alice.id, Decimal(spent + 1) / 1_000_000)
    calls = model_calls(llm_env)
    with pytest.raises(BudgetExceeded):
        await chat.send(alice, chat_id, "third question")
    assert model_calls(llm_env) == calls  # not even the summary was requested
    admin.set_budget(admin_user(), alice.id, None)
    turn = await chat.send(alice, chat_id, "third question")
    await finished(turn)
    kinds = [r.kind for r in ledger()]
    assert kinds == [SpendKind.reply, SpendKind.reply, SpendKind.summary, SpendKind.reply]
    summary = ledger()[2]
    assert summary.conversation_id == chat_id and summary.cost_micros > 0


async def test_twenty_sends_at_once_never_overshoot(
    alice: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hole 4: concurrent sends all passed a check against completed spend only. The proof
    of issue 11: 20 sends at once with $0.01 left; the simulator sees exactly what fits."""
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "1000")
    monkeypatch.setenv("MAX_CONCURRENT_REPLIES", "50")
    get_settings.cache_clear()
    llm_env.configure(delay_ms=1500)  # no reply settles before every send has reserved
    admin.set_budget(admin_user(), alice.id, "0.01")
    chats = [new_chat(alice) for _ in range(20)]
    text = "Tell me something"
    catalog = load_catalog(get_settings())
    preview = chat.cost_preview(alice, chats[0])
    worst = worst_case_micros(
        catalog.get("gpt-4.1-mini"),
        preview.context_tokens + estimate_tokens(text) + chat.MESSAGE_OVERHEAD_TOKENS,
        1000,
        (),
        catalog.tool_prices,
    )
    fits = 10_000 // worst
    assert 1 < fits < 20
    results = await asyncio.gather(
        *(chat.send(alice, chat_id, text) for chat_id in chats), return_exceptions=True
    )
    accepted = [r for r in results if isinstance(r, chat.Turn)]
    refused = [r for r in results if isinstance(r, BudgetExceeded)]
    others = [r for r in results if not isinstance(r, (chat.Turn, BudgetExceeded))]
    assert not others, repr([o.__cause__ for o in others[:1]])
    assert len(accepted) + len(refused) == 20
    for turn in accepted:
        await finished(turn)
    assert len(accepted) == fits
    assert model_calls(llm_env) == fits
    assert "left of $0.01" in str(refused[0]) and "resets on" in str(refused[0])
    assert usage.budget_status(alice).used_micros <= 10_000


async def test_csv_matches_the_ledger_to_the_micro_dollar(alice: User) -> None:
    for text in ("one", "two", "three"):
        await finished(await chat.send(alice, new_chat(alice), f"Question {text}"))
    rows = list(csv.reader(io.StringIO(usage.export_csv(admin_user(), everyone=True))))
    exported = sum(Decimal(row[rows[0].index("cost_usd")]) for row in rows[1:])
    assert exported * 1_000_000 == sum(r.cost_micros for r in ledger())


def test_migration_backfills_todays_messages(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Migration 0004 copies each assistant message with tokens or a cost into the ledger."""
    from alembic import command

    from core.db import alembic_config, build_engine

    url = f"sqlite:///{tmp_path / 'backfill.db'}"
    command.upgrade(alembic_config(url), "0003")
    engine = build_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO user (id, username, password_hash, role, token_version, "
                "is_active, theme, created_at, updated_at) VALUES "
                "(1, 'ann', 'x', 'member', 0, 1, 'auto', '2026-11-02', '2026-11-02')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO conversation (id, owner_id, title, summary, message_count, "
                "input_tokens, output_tokens, cost_micros, created_at, updated_at) VALUES "
                "(7, 1, 'Old chat', '', 3, 10, 5, 1234, '2026-11-02', '2026-11-02')"
            )
        )
        for mid, role, cost in ((1, "user", None), (2, "assistant", 1234), (3, "assistant", None)):
            conn.execute(
                sa.text(
                    "INSERT INTO conversation_message (id, conversation_id, role, content, "
                    "status, attachments, citations, input_tokens, cached_tokens, "
                    "output_tokens, reasoning_tokens, tool_calls, cost_micros, model, "
                    "created_at, updated_at) VALUES (:id, 7, :role, 'x', 'complete', '[]', "
                    "'[]', 10, 0, 5, 0, '{}', :cost, 'gpt-4.1-mini', '2026-11-02 10:00:00', "
                    "'2026-11-02')"
                ),
                {"id": mid, "role": role, "cost": cost},
            )
    command.upgrade(alembic_config(url), "0004")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT message_id, user_label, conversation_label, cost_micros, price_source "
                "FROM spend_ledger ORDER BY message_id"
            )
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        (2, "ann", "Old chat", 1234, "backfill"),
        (3, "ann", "Old chat", 0, "unpriced"),
    ]


async def test_storage_is_billed_on_the_providers_bytes_once_a_day_and_old_stores_expire(
    database: str, sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hole 5: vector-store storage was priced on the form but never charged. It is billed
    per GB-day on what the provider reports (`usage_bytes`), not on what the app uploaded."""
    from datetime import UTC, date, datetime, timedelta

    from models import Assistant, Conversation, FilePurpose, FileStatus, PriceSource, StoredFile
    from services.llm.factory import open_file_store
    from services.llm.files import wait_indexed
    from services.usage import storage
    from services.usage.pricing import storage_cost_micros

    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", sim.base_url)
    get_settings.cache_clear()
    stores = {}
    async with open_file_store(get_settings()) as files:
        for name, content in (("assistant", b"a" * 3000), ("chat", b"c" * 1000)):
            file_id = await files.upload(f"{name}.md", content, "text/markdown", "assistants")
            stores[name] = await files.create_vector_store(name, {})
            await files.attach(stores[name], file_id)
            await wait_indexed(files, stores[name], file_id, timeout=10)
    owner = create_user("alice", "password123")
    old = datetime.now(UTC) - timedelta(days=30)
    with session_scope() as session:
        docs = Assistant(owner_id=owner.id, name="Docs", model="gpt-4.1-mini")
        docs.vector_store_id = stores["assistant"]
        lost = Assistant(owner_id=owner.id, name="Lost", model="gpt-4.1-mini")
        lost.vector_store_id = "vs_the_provider_deleted"
        session.add_all([docs, lost])
        session.flush()
        chat_row = Conversation(
            owner_id=owner.id,
            assistant_id=docs.id,
            vector_store_id=stores["chat"],
            updated_at=old,
            title="Old chat",
        )
        session.add(chat_row)
        session.flush()
        # What the app recorded (the uploaded size) differs from what the provider bills.
        for file_id, owner_row in (("f1", docs), ("f2", lost)):
            session.add(
                StoredFile(
                    id=file_id,
                    owner_id=owner.id,
                    name="a.pdf",
                    size=1024**3,
                    mime="application/pdf",
                    purpose=FilePurpose.knowledge,
                    status=FileStatus.ready,
                    provider_file_id=f"file-{file_id}",
                    assistant_id=owner_row.id,
                )
            )
        chat_id, docs_id = chat_row.id, docs.id
    day = date(2026, 11, 30)
    assert await storage.bill_storage_day(day) == 2  # the store the provider lost: nothing
    assert await storage.bill_storage_day(day) == 0  # idempotent per day
    prices = load_catalog(get_settings()).tool_prices
    rows = {r.quantity: r for r in ledger()}
    assert set(rows) == {3000, 1000}
    assert rows[3000].cost_micros == storage_cost_micros(3000, prices)
    assert rows[3000].assistant_id == docs_id and rows[1000].conversation_id == chat_id
    assert {r.user_id for r in rows.values()} == {owner.id}
    assert {r.price_source for r in rows.values()} == {PriceSource.usage}
    assert all(r.kind == SpendKind.storage and r.created_at.date() == day for r in rows.values())
    with session_scope() as session:
        conversation = session.get(Conversation, chat_id)
    assert storage.expiry_notice(conversation) is not None  # the user is told before
    assert storage.expire_conversation_stores() == 1
    with session_scope() as session:
        assert session.get(Conversation, chat_id).vector_store_id is None
        assert session.get(Assistant, docs_id).vector_store_id == stores["assistant"]


async def test_storage_is_estimated_from_indexed_bytes_when_the_provider_cannot_answer(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A day is never lost: with the provider unreachable, the indexed bytes are billed,
    marked as an estimate."""
    from datetime import date

    from models import Assistant, FilePurpose, FileStatus, PriceSource, StoredFile
    from services.usage import storage

    monkeypatch.setenv("OPENAI_API_KEY", TEST_API_KEY)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens there
    monkeypatch.setenv("LLM_TIMEOUT_SECONDS", "2")
    get_settings.cache_clear()
    owner = create_user("alice", "password123")
    with session_scope() as session:
        docs = Assistant(owner_id=owner.id, name="Docs", model="gpt-4.1-mini")
        docs.vector_store_id = "vs_somewhere"
        session.add(docs)
        session.flush()
        session.add(
            StoredFile(
                id="f1",
                owner_id=owner.id,
                name="a.pdf",
                size=1024**3,
                mime="application/pdf",
                purpose=FilePurpose.knowledge,
                status=FileStatus.ready,
                provider_file_id="file-f1",
                assistant_id=docs.id,
            )
        )
    assert await storage.bill_storage_day(date(2026, 11, 30)) == 1
    (row,) = ledger()
    assert (row.quantity, row.cost_micros, row.price_source) == (
        1024**3,
        100_000,
        PriceSource.estimate,
    )


async def test_reply_limits_refuse_before_any_request(
    alice: User, llm_env: SimulatorServer
) -> None:
    """MAX_CONCURRENT_REPLIES (default 2) and SENDS_PER_MINUTE (default 30), per user."""
    from core.errors import RateLimited

    llm_env.configure(delay_ms=1500)
    chats = [new_chat(alice) for _ in range(3)]
    running = [await chat.send(alice, chat_id, "Hello") for chat_id in chats[:2]]
    with pytest.raises(RateLimited, match="limit is 2"):
        await chat.send(alice, chats[2], "Hello")
    admin.set_limits(admin_user(), alice.id, 3, 3)  # the admin raises it for alice only
    running.append(await chat.send(alice, chats[2], "Hello"))
    for turn in running:
        await finished(turn)
    assert model_calls(llm_env) == 3  # the refused send made no request
    with pytest.raises(RateLimited, match="in the last minute"):
        await chat.send(alice, chats[0], "A fourth within the minute")


def test_duplicate_copies_the_budget(alice: User) -> None:
    """Hole 3: a duplicate of a capped assistant had no budget at all."""
    from services.assistants.manage import duplicate_assistant, update_assistant

    bob = create_user("bob", "password123")
    capped = create_assistant(
        alice,
        AssistantInput(name="Shared", model="gpt-4.1-mini", shared=True, monthly_budget_usd="2"),
    )
    copy = duplicate_assistant(bob, capped.id)
    assert copy.monthly_budget_micros == 2_000_000 and copy.owner_id == bob.id
    with pytest.raises(Exception, match="(?i)not|permission|only"):
        update_assistant(bob, capped.id, AssistantInput(name="Shared", monthly_budget_usd=""))


def test_cost_preview_counts_images_tools_and_the_next_split(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hole 6: the preview ignored attachments, images, tool fees and the split's summary."""
    from models import Conversation, FilePurpose, FileStatus, MessageRole, StoredFile
    from services.usage.pricing import image_tokens, reserved_tool_micros

    assistant = create_assistant(
        alice, AssistantInput(name="Seer", model="gpt-4.1-mini", tools=["web_search"])
    )
    chat_id = conversations.create_conversation(alice, assistant.id).id
    plain = chat.cost_preview(alice, chat_id)
    with session_scope() as session:
        session.add(
            StoredFile(
                id="img1",
                owner_id=alice.id,
                name="a.png",
                size=10,
                mime="image/png",
                purpose=FilePurpose.image,
                status=FileStatus.ready,
                width=1024,
                height=1024,
                conversation_id=chat_id,
            )
        )
        for role, attachments in (
            (MessageRole.assistant, []),  # the preview leaves out the oldest message
            (MessageRole.user, [{"id": "img1"}]),
            (MessageRole.assistant, []),
        ):
            session.add(
                ConversationMessage(
                    conversation_id=chat_id, role=role, content="look", attachments=attachments
                )
            )
        session.get(Conversation, chat_id).message_count = 3
    with_image = chat.cost_preview(alice, chat_id)
    grown = with_image.context_tokens - plain.context_tokens
    assert grown >= image_tokens(1024, 1024) == 765
    cost = with_image.range("hello")
    catalog = load_catalog(get_settings())
    assert cost.low < cost.typical < cost.high
    assert cost.high - cost.typical >= reserved_tool_micros(["web_search"], catalog.tool_prices)
    monkeypatch.setenv("MAX_MESSAGES_PER_CONVERSATION", "4")
    get_settings.cache_clear()
    with session_scope() as session:
        session.get(Conversation, chat_id).message_count = 4
    splitting = chat.cost_preview(alice, chat_id)
    assert splitting.summary_micros and splitting.summary_micros > 0
    assert splitting.range("hello").low >= splitting.summary_micros


async def test_a_refused_send_is_offered_a_cheaper_model_that_fits(
    alice: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a budget would refuse, the cheapest catalog model with the same abilities that
    fits is offered, and sending with it works for this one message."""
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "1000")
    get_settings.cache_clear()
    assistant = create_assistant(alice, AssistantInput(name="Big", model="gpt-4.1"))
    chat_id = conversations.create_conversation(alice, assistant.id).id
    admin.set_budget(admin_user(), alice.id, Decimal("0.004"))
    with pytest.raises(BudgetExceeded):
        await chat.send(alice, chat_id, "Hello")
    found = chat.cheaper_model(alice, chat_id, "Hello")
    assert found is not None and found.id != "gpt-4.1" and found.worst_micros <= 4_000
    catalog = load_catalog(get_settings())
    assert catalog.get(found.id).vision >= catalog.get("gpt-4.1").vision
    reply = await finished(await chat.send(alice, chat_id, "Hello", model=found.id))
    assert reply.status == MessageStatus.complete
    assert ledger()[-1].model_alias == found.id


async def test_per_conversation_dollar_cap(
    alice: User, llm_env: SimulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_OUTPUT_TOKENS", "8000")  # a worst case of about $0.0128
    get_settings.cache_clear()
    chat_id = new_chat(alice)
    await finished(await chat.send(alice, chat_id, "Hello"))
    conversations.set_cost_cap(alice, chat_id, "$0.01")
    calls = model_calls(llm_env)
    with pytest.raises(BudgetExceeded, match="This conversation's cap of \\$0.01"):
        await chat.send(alice, chat_id, "Again")
    assert model_calls(llm_env) == calls
    conversations.set_cost_cap(alice, chat_id, "")
    await finished(await chat.send(alice, chat_id, "Again"))
