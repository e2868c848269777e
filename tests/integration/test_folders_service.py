"""Folders, pins, archive, bulk actions and the paged list, on SQLite and MariaDB."""

from __future__ import annotations

import pytest

from core.errors import NotFound, ValidationError
from models import User
from services.chat import conversations, folders
from services.chat.conversations import ListScope
from tests.factories import add_assistant, add_conversation, make_user


@pytest.fixture
def alice(database: str) -> User:
    return make_user("alice")


def listed(user: User, scope: ListScope | None = None) -> list[int]:
    page = conversations.list_conversations(user, scope or ListScope(), limit=1000)
    return [item.id for item in page.items]


def test_folders_create_rename_delete_moves_conversations_out(alice: User) -> None:
    helper = add_assistant(alice)
    inside, outside = add_conversation(alice, helper, "in"), add_conversation(alice, helper, "out")
    work = folders.create_folder(alice, "  Work   stuff ")
    assert work.name == "Work stuff"
    folders.move_conversations(alice, [inside], work.id)
    assert listed(alice, ListScope(folder_id=work.id)) == [inside]
    assert folders.rename_folder(alice, work.id, "Job").name == "Job"
    assert [f.name for f in folders.list_folders(alice)] == ["Job"]
    with pytest.raises(ValidationError):
        folders.create_folder(alice, "   ")
    with pytest.raises(ValidationError):
        folders.rename_folder(alice, work.id, "x" * 101)
    assert folders.delete_folder(alice, work.id) == 1
    assert folders.list_folders(alice) == []
    assert set(listed(alice)) == {inside, outside}  # nothing deleted
    assert conversations.list_conversations(alice).items[0].folder_id is None
    folders.move_conversations(alice, [inside], None)


def test_pins_come_first_and_archived_chats_leave_the_list(alice: User) -> None:
    helper = add_assistant(alice)
    old, middle, new = (add_conversation(alice, helper, t) for t in ("old", "middle", "new"))
    assert listed(alice) == [new, middle, old]
    folders.set_pinned(alice, old, True)
    page = conversations.list_conversations(alice)
    assert [i.id for i in page.items] == [old, new, middle]
    groups = conversations.group_by_day(page.items)
    assert groups[0] == ("Pinned", [page.items[0]])
    folders.set_archived(alice, [middle, new], True)
    assert listed(alice) == [old]
    assert set(listed(alice, ListScope(archived=True))) == {middle, new}
    folders.set_archived(alice, [new], False)
    assert listed(alice) == [old, new]


def test_bulk_move_archive_delete(alice: User) -> None:
    helper = add_assistant(alice)
    ids = [add_conversation(alice, helper, f"c{n}") for n in range(4)]
    folder = folders.create_folder(alice, "Batch")
    folders.move_conversations(alice, ids[:3], folder.id)
    assert set(listed(alice, ListScope(folder_id=folder.id))) == set(ids[:3])
    folders.set_archived(alice, ids[:2], True)
    assert listed(alice, ListScope(folder_id=folder.id)) == [ids[2]]
    assert folders.delete_conversations(alice, ids[1:3]) == 2
    assert set(listed(alice)) | set(listed(alice, ListScope(archived=True))) == {ids[0], ids[3]}


def test_the_list_pages_without_a_cap(alice: User) -> None:
    helper = add_assistant(alice)
    ids = [add_conversation(alice, helper, f"c{n}") for n in range(230)]
    seen: list[int] = []
    offset = 0
    while True:
        page = conversations.list_conversations(alice, offset=offset, limit=50)
        seen += [item.id for item in page.items]
        offset += len(page.items)
        if not page.has_more:
            break
    assert sorted(seen) == ids and len(seen) == 230  # the old 200 cap is gone


def test_nobody_organizes_someone_elses_conversations(alice: User) -> None:
    bob = make_user("bob")
    mine = add_conversation(alice, add_assistant(alice))
    my_folder = folders.create_folder(alice, "Private")
    bobs_folder = folders.create_folder(bob, "Bob's")
    for call in (
        lambda: folders.move_conversations(bob, [mine], bobs_folder.id),
        lambda: folders.move_conversations(alice, [mine], bobs_folder.id),
        lambda: folders.rename_folder(bob, my_folder.id, "taken"),
        lambda: folders.delete_folder(bob, my_folder.id),
        lambda: folders.set_pinned(bob, mine, True),
        lambda: folders.set_archived(bob, [mine], True),
        lambda: folders.delete_conversations(bob, [mine]),
    ):
        with pytest.raises(NotFound):
            call()
    assert listed(alice) == [mine] and folders.list_folders(alice)[0].name == "Private"
    assert listed(bob) == []
