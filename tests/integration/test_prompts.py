"""The prompt library on SQLite and MariaDB: personal and team prompts, who may change them,
variables."""

from __future__ import annotations

import pytest

from core.errors import NotFound, PermissionDenied, ValidationError
from services.chat import prompts
from tests.factories import make_user


@pytest.fixture
def people(database: str) -> tuple:
    return make_user("alice"), make_user("bob")  # alice (first account) is the admin


def test_personal_prompts_are_private_and_team_prompts_shared(people: tuple) -> None:
    alice, bob = people
    mine = prompts.create_prompt(bob, "  Review   code ", "Review {{language}} code: {{code}}")
    assert mine.title == "Review code" and mine.variables == ("language", "code")
    team = prompts.create_prompt(alice, "Weekly report", "Report on {{ team name }}", team=True)
    assert team.variables == ("team name",)
    prompts.create_prompt(alice, "Alice only", "Private")
    bob_sees = prompts.list_prompts(bob)
    assert [(p.title, p.team, p.editable) for p in bob_sees] == [
        ("Review code", False, True),
        ("Weekly report", True, False),
    ]
    assert [p.title for p in prompts.list_prompts(bob, "week")] == ["Weekly report"]
    assert {p.title for p in prompts.list_prompts(alice)} == {"Alice only", "Weekly report"}


def test_only_admins_curate_team_prompts(people: tuple) -> None:
    alice, bob = people
    with pytest.raises(PermissionDenied):
        prompts.create_prompt(bob, "Team?", "text", team=True)
    team = prompts.create_prompt(alice, "Team", "text", team=True)
    with pytest.raises(PermissionDenied):
        prompts.update_prompt(bob, team.id, "Mine now", "text")
    with pytest.raises(PermissionDenied):
        prompts.delete_prompt(bob, team.id)
    assert prompts.update_prompt(alice, team.id, "Team v2", "new text").title == "Team v2"
    prompts.delete_prompt(alice, team.id)
    assert prompts.list_prompts(bob) == []


def test_users_manage_their_own_only(people: tuple) -> None:
    alice, bob = people
    own = prompts.create_prompt(bob, "Mine", "body")
    for actor in (alice,):  # even an admin cannot touch someone's personal prompt
        with pytest.raises(NotFound):
            prompts.update_prompt(actor, own.id, "x", "y")
        with pytest.raises(NotFound):
            prompts.delete_prompt(actor, own.id)
    assert prompts.update_prompt(bob, own.id, "Mine 2", "body 2").body == "body 2"
    prompts.delete_prompt(bob, own.id)
    with pytest.raises(NotFound):
        prompts.delete_prompt(bob, own.id)


def test_validation(people: tuple) -> None:
    _, bob = people
    with pytest.raises(ValidationError, match="title"):
        prompts.create_prompt(bob, "  ", "body")
    with pytest.raises(ValidationError, match="prompt text"):
        prompts.create_prompt(bob, "T", " ")
    with pytest.raises(ValidationError, match="under"):
        prompts.create_prompt(bob, "T", "x" * (prompts.BODY_MAX + 1))
    long_body = "é" * prompts.BODY_MAX  # long text survives MariaDB (not a VARCHAR)
    assert (
        prompts.list_prompts(bob) == []
        and len(prompts.create_prompt(bob, "Long", long_body).body) == prompts.BODY_MAX
    )
    assert prompts.list_prompts(bob)[0].body == long_body


def test_variables_and_fill() -> None:
    body = "Hi {{name}}, about {{ topic }} and {{name}}; {{not closed} {{}} {{bad!}}"
    assert prompts.variables(body) == ["name", "topic"]
    filled = prompts.fill(body, {"name": "Ana", "topic": "{{name}}"})
    # Values are inserted as typed (a value that looks like a variable is not expanded).
    assert filled == "Hi Ana, about {{name}} and Ana; {{not closed} {{}} {{bad!}}"
