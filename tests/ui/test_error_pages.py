"""Error pages: friendly text and a reference id; the internals only in the server log."""

from __future__ import annotations

import re

import httpx
import pytest
import sqlalchemy as sa
from nicegui import app, ui
from nicegui.testing import User

from tests.ui.helpers import signed_up

INTERNALS = "Can't connect to MySQL server on '127.0.0.1' (secret internals)"


def _reference(text: str) -> str:
    match = re.search(r"Reference: ([0-9a-f]{8})", text)
    assert match, text[-2000:]
    return match.group(1)


async def test_a_failing_page_shows_a_reference_not_its_exception(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    @ui.page("/_test/broken")
    def broken() -> None:
        raise RuntimeError(INTERNALS)

    await signed_up(user, "alice")
    response = await user.http_client.get("/_test/broken")
    assert response.status_code == 500
    assert "secret internals" not in response.text and "RuntimeError" not in response.text
    assert "Something went wrong" in response.text
    reference = _reference(response.text)
    logged = [r for r in caplog.records if reference in r.getMessage()]
    assert len(logged) == 1 and "secret internals" in str(logged[0].exc_info[1])
    caplog.clear()  # the error logs were expected here


async def test_a_database_outage_says_unavailable(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    @ui.page("/_test/outage")
    async def outage() -> None:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception(INTERNALS))

    await signed_up(user, "alice")
    response = await user.http_client.get("/_test/outage")
    assert response.status_code == 500
    assert "The service is unavailable" in response.text
    assert "MySQL" not in response.text and "OperationalError" not in response.text
    _reference(response.text)
    caplog.clear()


async def test_api_errors_answer_json_with_a_reference(
    user: User, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing() -> None:
        raise sa.exc.OperationalError("SELECT 1", {}, Exception(INTERNALS))

    app.add_api_route("/api/_test/failing", failing, methods=["GET"])
    # Starlette re-raises after answering (for servers to log); a real client sees the answer.
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/api/_test/failing")
    assert response.status_code == 503
    body = response.json()
    assert body["detail"] == "Internal error" and re.fullmatch(r"[0-9a-f]{8}", body["reference"])
    assert "MySQL" not in response.text
    assert body["reference"] in caplog.text and "secret internals" in caplog.text
    caplog.clear()
