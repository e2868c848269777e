"""Labels for built-in tool progress, shared by the adapters."""

from __future__ import annotations

from services.llm.base import ToolActivity

_NAMES = {
    "web_search": "Web search",
    "file_search": "File search",
    "code_interpreter": "Code interpreter",
}
_LABELS = {
    ("web_search", "in_progress"): "Searching the web",
    ("web_search", "completed"): "Searched the web",
    ("file_search", "in_progress"): "Searching files",
    ("file_search", "completed"): "Searched files",
    ("code_interpreter", "in_progress"): "Running code",
    ("code_interpreter", "completed"): "Ran code",
}


def tool_activity(tool: str, status: str) -> ToolActivity:
    """A progress event with a human label (e.g. file_search/in_progress: 'Searching files')."""
    label = _LABELS.get((tool, status)) or f"{_NAMES.get(tool, tool)}: {status.replace('_', ' ')}"
    return ToolActivity(tool=tool, status=status, label=label)


def unavailable(tool: str, reason: str = "is not available with this provider") -> ToolActivity:
    """Tell the user a requested tool was not used, instead of dropping it silently."""
    return ToolActivity(tool=tool, status="unavailable", label=f"{_NAMES.get(tool, tool)} {reason}")
