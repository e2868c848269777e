"""Which messages the chat page draws first and on each "Load earlier messages"."""

from __future__ import annotations

from components.chat_history import HISTORY_PAGE, first_shown


def test_newest_page_of_a_long_history() -> None:
    assert first_shown(80) == 80 - HISTORY_PAGE


def test_short_history_is_drawn_whole() -> None:
    assert first_shown(0) == 0
    assert first_shown(HISTORY_PAGE) == 0
    assert first_shown(5) == 0


def test_each_load_reaches_one_page_further_back_and_stops_at_the_start() -> None:
    assert first_shown(80, shown_from=50) == 20
    assert first_shown(80, shown_from=20) == 0
    assert first_shown(80, shown_from=0) == 0


def test_page_size_can_be_given() -> None:
    assert first_shown(10, page=4) == 6
    assert first_shown(10, shown_from=6, page=4) == 2
