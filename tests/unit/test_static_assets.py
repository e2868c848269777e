"""JavaScript and CSS live in `static/`, and every file a page asks for is there."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from components.assets import STATIC_DIR, static_url

ROOT = Path(__file__).resolve().parents[2]
UI_CODE = [*ROOT.glob("components/*.py"), *ROOT.glob("pages/*.py"), *ROOT.glob("app/*.py")]


def _use_static_names() -> set[str]:
    names = set()
    for path in UI_CODE:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "use_static":
                names.update(arg.value for arg in node.args if isinstance(arg, ast.Constant))
    return names


def test_every_requested_file_exists() -> None:
    names = _use_static_names()
    assert {"chat.css", "copy_code.js", "chat_scroll.js", "chat_attach.js"} <= names
    for name in names:
        assert (STATIC_DIR / name).is_file(), name


def test_no_script_or_style_blocks_in_python() -> None:
    pattern = re.compile(r"<script|<style|add_css\(|add_body_html\(", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in UI_CODE
        if path.name != "assets.py"  # it writes the <script src> tags
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


def test_urls_carry_the_content_version() -> None:
    url = static_url("chat_attach.js")
    assert re.fullmatch(r"/static/chat_attach\.js\?v=[0-9a-f]{12}", url)
