"""Share links: `/share/{token}` shows a read-only snapshot; the chat header's Share button.

Signed-in teammates see it inside the shell; anonymous visitors only when the link is public
and public links are allowed (else they are asked to sign in, whether or not the link exists).
"""

from __future__ import annotations

from nicegui import run, ui

from components.assets import use_static
from components.charts import chart_card
from components.layout import apply_theme, not_found_view
from components.share_dialog import ShareDialog
from components.share_view import CopyDialog, shared_message
from core.config import get_settings
from core.errors import NotFound, ServiceError
from models import User
from pages.guard import current_user, login_url
from pages.shell import shell
from services.chat import shares


def _absolute(path: str) -> str:
    base = get_settings().public_url.rstrip("/")
    if not base:
        base = str(ui.context.client.request.base_url).rstrip("/")
    return base + path


def share_button(user: User, conversation_id: int) -> None:
    """The chat header's Share button and its dialog."""

    async def public_allowed() -> bool:
        return await run.io_bound(shares.public_links_enabled)

    async def create(public: bool) -> str | None:
        try:
            created = await run.io_bound(shares.create_share, user, conversation_id, public)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return None
        ui.notify("Share link created", type="positive")
        return _absolute(created.path)

    dialog = ShareDialog(public_allowed, create)
    ui.button("Share", icon="share", on_click=dialog.open).props("flat dense no-caps")


async def public_links_card(actor: User) -> None:
    """The admin page's switch for public (anonymous) share links."""
    enabled = await run.io_bound(shares.public_links_enabled)
    with chart_card(
        "Share links",
        "Teammates can always open links shared with them. Public links open without signing "
        "in; turning this off stops every public link at once.",
    ):

        async def change(event) -> None:  # noqa: ANN001
            try:
                await run.io_bound(shares.set_public_links, actor, bool(event.value))
            except ServiceError as exc:
                ui.notify(str(exc), type="negative")
                return
            ui.notify("Share link setting saved", type="positive")

        ui.switch("Allow public links", value=enabled, on_change=change)


async def share_links_section(user: User) -> None:
    """The profile's list of my share links, each with Revoke."""

    @ui.refreshable
    def rows(items: list[shares.ShareItem]) -> None:
        if not items:
            ui.label("You have not shared any conversation.").classes("text-sm text-slate-500")
            return
        for item in items:
            with ui.row().classes(
                "w-full items-center justify-between gap-2 py-1 border-b border-slate-100 "
                "dark:border-slate-700"
            ):
                with ui.column().classes("gap-0 min-w-0"):
                    ui.label(item.title).classes("font-medium truncate")
                    who = "Public" if item.public else "Teammates"
                    when = item.created_at.strftime("%Y-%m-%d %H:%M UTC")
                    ui.label(f"{who} · {item.message_count} messages · {when}").classes(
                        "text-xs text-slate-500 dark:text-slate-400"
                    )
                ui.button("Revoke", icon="link_off", on_click=lambda i=item: revoke(i)).props(
                    f'flat dense no-caps color=negative aria-label="Revoke link to {item.title}"'
                ).mark(f"revoke-share-{item.id}")

    async def revoke(item: shares.ShareItem) -> None:
        try:
            await run.io_bound(shares.revoke_share, user, item.id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
        else:
            ui.notify("Link revoked: it no longer opens", type="positive")
        rows.refresh(await run.io_bound(shares.list_shares, user))

    items = await run.io_bound(shares.list_shares, user)
    with ui.card().classes("w-full p-5 gap-3 dark:bg-slate-800 shadow-sm"):
        ui.label("Share links").classes("text-lg font-medium")
        ui.label(
            "Read-only snapshots you shared. A revoked link stops showing the conversation "
            "and its files at once."
        ).classes("text-sm text-slate-500 dark:text-slate-400")
        rows(items)


def _view(viewer: User | None, token: str, shared: shares.SharedConversation, html: list) -> None:
    base = f"{shares.SHARE_PATH}{token}/files"
    with ui.column().classes("w-full max-w-4xl mx-auto gap-3"):
        with ui.row().classes(
            "w-full items-center justify-between gap-2 pb-2 border-b border-slate-200 "
            "dark:border-slate-700"
        ):
            with ui.column().classes("gap-0 min-w-0"):
                ui.label(shared.title).classes("text-lg font-semibold truncate")
                when = shared.created_at.strftime("%Y-%m-%d %H:%M UTC")
                ui.label(f"Shared by {shared.owner_name} · snapshot of {when} · read-only").classes(
                    "text-sm text-slate-500 dark:text-slate-400"
                )
            if viewer is not None:
                _continue_button(viewer, token)
            else:
                ui.link(
                    "Sign in to continue as your own copy", login_url(f"/share/{token}")
                ).classes("text-sm")
        for message, rendered in zip(shared.messages, html, strict=True):
            shared_message(message, rendered, base, shared.assistant_name)


def _continue_button(viewer: User, token: str) -> None:
    async def open_dialog() -> None:
        try:
            options, preselect = await run.io_bound(shares.copy_assistants, viewer, token)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        CopyDialog(options, preselect, copy).open()

    async def copy(assistant_id: int) -> None:
        try:
            conversation = await run.io_bound(shares.continue_as_copy, viewer, token, assistant_id)
        except ServiceError as exc:
            ui.notify(str(exc), type="negative")
            return
        ui.navigate.to(f"/chat/{conversation.id}")

    ui.button("Continue as my own copy", icon="fork_right", on_click=open_dialog).props(
        "unelevated no-caps"
    )


@ui.page("/share/{token}")
async def share_page(token: str) -> None:
    """A share link: the snapshot for teammates (and anyone, when public and allowed)."""
    ui.page_title("Shared conversation · Assistant Studio")
    viewer = await current_user()
    if viewer is None and not await run.io_bound(shares.may_open_anonymously, token):
        ui.navigate.to(login_url(f"/share/{token}"))
        return
    use_static("chat.css", "copy_code.js")  # in the first response, so the scripts run
    if viewer is None:
        apply_theme("auto")
        with ui.column().classes("w-full p-4 gap-4"):
            ui.label("Assistant Studio").classes("text-xl font-semibold text-indigo-600")
            await _snapshot(None, token)
        return
    with shell(viewer, "Chat"):
        await _snapshot(viewer, token)


async def _snapshot(viewer: User | None, token: str) -> None:
    """Load and render the snapshot after the browser connected (a long one takes a while)."""
    spinner = ui.spinner(size="lg").classes("self-center")
    await ui.context.client.connected()
    try:
        shared = await run.io_bound(shares.open_share, viewer, token)
        html = await run.io_bound(shares.render_answers, shared.messages, token)
    except NotFound:
        shared = None
    spinner.delete()
    if shared is None:
        not_found_view()
    else:
        _view(viewer, token, shared, html)
