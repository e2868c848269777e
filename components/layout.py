"""The logged-in layout: header with user menu, left navigation, dark mode, demo banner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from nicegui import ui

from components.assets import use_static
from components.heading import heading
from components.icons import icon_html
from components.lazy import BuiltOnFirstUse
from components.shortcuts import shortcuts_button

NAV_ITEMS = (
    ("Dashboard", "/", "space_dashboard"),
    ("Assistants", "/assistants", "smart_toy"),
    ("Chat", "/chat", "forum"),
    ("Prompts", "/prompts", "bookmarks"),
    ("Profile", "/profile", "person"),
)
ADMIN_ITEM = ("Admin", "/admin", "admin_panel_settings")
THEMES = {"auto": None, "light": False, "dark": True}
# Tailwind indigo-600, slate-800 (dark cards) and slate-900 (dark page).
BRAND_COLORS = {"primary": "#4f46e5", "dark": "#1e293b", "dark_page": "#0f172a"}


@dataclass
class ShellUser:
    """What the shell shows about the signed-in user."""

    username: str
    is_admin: bool
    theme: str


BRAND_HTML = (
    icon_html("auto_awesome", "text-indigo-500", size=24)
    + '<span class="text-lg font-semibold">Assistant Studio</span>'
)
NAV_ACTIVE = "bg-indigo-50 text-indigo-700 dark:bg-indigo-900/40 dark:text-indigo-200 font-medium"
NAV_IDLE = "text-slate-700 dark:text-slate-200 hover:bg-slate-100 dark:hover:bg-slate-700"


def _nav_link(label: str, href: str, icon: str, active: bool) -> str:
    """One drawer link as HTML (fixed labels and paths, nothing from users)."""
    current = ' aria-current="page"' if active else ""
    return (
        f'<a href="{href}"{current} class="nicegui-link flex items-center gap-3 px-3 py-2 '
        f'rounded-lg no-underline {NAV_ACTIVE if active else NAV_IDLE}">'
        f"{icon_html(icon, '', size=24)}<div>{label}</div></a>"
    )


def apply_theme(theme: str) -> ui.dark_mode:
    """A dark-mode element set from a stored preference (auto, light or dark), and what every
    page loads with it: the app's stylesheet (focus ring, contrast) and dialog focus handling."""
    use_static("app.css", "dialog_focus.js")
    return ui.dark_mode(THEMES.get(theme))


@contextmanager
def app_shell(
    user: ShellUser,
    active: str,
    on_logout: Callable[[], Awaitable[None]],
    on_theme: Callable[[str], Awaitable[None]],
    demo_mode: bool = False,
) -> Iterator[ui.column]:
    """Build header, drawer and banner; yields the main content column."""
    dark = apply_theme(user.theme)
    ui.query("body").classes("bg-slate-50 dark:bg-slate-900")
    with ui.header(elevated=False).classes(
        "items-center justify-between px-4 py-2 bg-[#fff] dark:bg-slate-800 "
        "text-slate-800 dark:text-slate-100 border-b border-slate-200 dark:border-slate-700"
    ):
        with ui.row().classes("items-center gap-2"):
            ui.button(icon="menu", on_click=lambda: drawer.toggle()).props(
                'flat round dense aria-label="Toggle navigation"'
            ).classes("lg:hidden")
            ui.html(BRAND_HTML, sanitize=False).classes("flex items-center gap-2")
        with ui.row().classes("items-center gap-1"):

            async def toggle_theme() -> None:
                theme = "light" if dark.value else "dark"
                dark.set_value(THEMES[theme])
                await on_theme(theme)

            shortcuts_button()
            ui.button(icon="dark_mode", on_click=toggle_theme).props(
                'flat round aria-label="Toggle dark mode" title="Light / dark"'
            )
            with ui.button(icon="account_circle").props("flat no-caps") as menu_button:
                # Quasar's `.hidden` is !important and beats `sm:block`: hide below sm instead.
                ui.label(user.username).classes("ml-1 max-sm:hidden")
                # By key: a props string would parse quotes in the name. The name contains the
                # visible text (WCAG "label in name").
                menu_button.props["aria-label"] = f"User menu for {user.username}"

                def build_menu() -> None:
                    with (
                        menu_button,
                        ui.menu().classes("p-1") as menu,
                        ui.column().classes("gap-0"),
                    ):
                        menu_items = (
                            ("Profile", "person", lambda: ui.navigate.to("/profile")),
                            ("Log out", "logout", on_logout),
                        )
                        for label, icon, handler in menu_items:
                            ui.button(label, icon=icon, on_click=handler).props(
                                "flat no-caps no-wrap align=left"
                            ).classes("w-full whitespace-nowrap")
                    menu.open()  # from now on the menu opens itself on the button's clicks

                lazy_menu = BuiltOnFirstUse(build_menu)
                menu_button.on_click(lazy_menu.ensure)
            menu_button.mark("user-menu")
    with (
        ui.left_drawer(value=None, bordered=True)  # open on wide screens only
        .props("breakpoint=1024 width=220")
        .classes("bg-[#fff] dark:bg-slate-800 p-2") as drawer
    ):
        items = NAV_ITEMS + ((ADMIN_ITEM,) if user.is_admin else ())
        # One element for every link: each tab holds its elements in server memory.
        ui.html(
            "".join(_nav_link(label, href, icon, label == active) for label, href, icon in items),
            sanitize=False,
        ).classes("w-full")
    with ui.column().classes("w-full max-w-6xl mx-auto p-2 sm:p-4 gap-4") as main:
        if demo_mode:
            with ui.row().classes(
                "w-full items-center gap-2 px-3 py-2 rounded-lg text-sm "
                "bg-amber-50 text-amber-900 dark:bg-amber-900/30 dark:text-amber-100"
            ):
                ui.icon("science", size="xs")
                ui.label(
                    "Demo mode: replies come from the built-in simulator. Set OPENAI_API_KEY "
                    "(or OPENAI_BASE_URL for a local server) for real models."
                )
        yield main


def not_found_view() -> None:
    """The friendly 404 content, used for unknown URLs and for anything not visible to you."""
    with ui.column().classes("w-full items-center py-20 gap-3 text-center"):
        ui.icon("travel_explore", size="4rem").classes("text-slate-400")
        heading("Page not found")
        ui.label("It may have been moved or deleted, or you may not have access to it.").classes(
            "text-slate-500"
        )
        ui.button("Go to the dashboard", on_click=lambda: ui.navigate.to("/")).props("unelevated")
