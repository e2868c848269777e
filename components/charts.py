"""ECharts for usage: cost per day stacked by model, cost by group, tokens in vs out."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from nicegui import ui

from services.usage.pricing import MICROS_PER_USD
from services.usage.spend import DailyModelUsage, GroupUsage

AXIS_TEXT = "#64748b"  # slate-500: readable on light and dark backgrounds
GRID_LINE = "rgba(148, 163, 184, 0.25)"
PALETTE = ["#6366f1", "#14b8a6", "#f59e0b", "#ec4899", "#0ea5e9", "#84cc16", "#a855f7"]
CHART_CLASSES = "w-full h-72"


def _usd(micros: int) -> float:
    return round(micros / MICROS_PER_USD, 6)


def _base(legend: bool = True) -> dict:
    return {
        "color": PALETTE,
        "backgroundColor": "transparent",
        "textStyle": {"color": AXIS_TEXT},
        "tooltip": {"trigger": "axis", "confine": True},
        "legend": {
            "show": legend,
            "bottom": 0,
            "type": "scroll",
            "textStyle": {"color": AXIS_TEXT},
        },
        "grid": {"left": 8, "right": 16, "top": 16, "bottom": 40, "containLabel": True},
    }


def _axis(kind: str, data: list[str] | None = None) -> dict:
    axis = {
        "type": kind,
        "axisLabel": {"color": AXIS_TEXT},
        "splitLine": {"lineStyle": {"color": GRID_LINE}},
    }
    if data is not None:
        axis["data"] = data
    return axis


def _labels(days: list[date]) -> list[str]:
    return [day.strftime("%b %d") for day in days]


def cost_per_day_chart(days: list[date], rows: list[DailyModelUsage]) -> ui.echart:
    """Cost (USD) per day over `days`, one stacked bar series per model."""
    by_model: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        by_model[row.model][row.day] = row.cost_micros
    series = [
        {
            "name": model,
            "type": "bar",
            "stack": "cost",
            "emphasis": {"focus": "series"},
            "data": [_usd(costs.get(day, 0)) for day in days],
        }
        for model, costs in sorted(by_model.items())
    ]
    options = _base() | {
        "xAxis": _axis("category", _labels(days)),
        "yAxis": _axis("value") | {"axisLabel": {"color": AXIS_TEXT, "formatter": "${value}"}},
        "series": series,
    }
    return ui.echart(options).classes(CHART_CLASSES)


def tokens_chart(days: list[date], rows: list[DailyModelUsage]) -> ui.echart:
    """Input and output tokens per day."""
    totals: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        totals[row.day][0] += row.input_tokens
        totals[row.day][1] += row.output_tokens
    options = _base() | {
        "xAxis": _axis("category", _labels(days)),
        "yAxis": _axis("value"),
        "series": [
            {
                "name": name,
                "type": "line",
                "smooth": True,
                "areaStyle": {"opacity": 0.15},
                "showSymbol": False,
                "data": [totals[day][index] if day in totals else 0 for day in days],
            }
            for index, name in enumerate(("Input tokens", "Output tokens"))
        ],
    }
    return ui.echart(options).classes(CHART_CLASSES)


def cost_by_group_chart(groups: list[GroupUsage], limit: int = 10) -> ui.echart:
    """Horizontal bars of cost per assistant, user or model (largest first)."""
    shown = list(reversed(groups[:limit]))
    options = _base(legend=False) | {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}, "confine": True},
        "grid": {"left": 8, "right": 24, "top": 8, "bottom": 8, "containLabel": True},
        "xAxis": _axis("value") | {"axisLabel": {"color": AXIS_TEXT, "formatter": "${value}"}},
        "yAxis": _axis("category", [group.label for group in shown]),
        "series": [
            {
                "name": "Cost (USD)",
                "type": "bar",
                "data": [_usd(group.cost_micros) for group in shown],
                "itemStyle": {"borderRadius": [0, 4, 4, 0]},
            }
        ],
    }
    return ui.echart(options).classes(CHART_CLASSES)


def chart_card(title: str, subtitle: str = "") -> ui.card:
    """A titled card to hold one chart (use as a context manager)."""
    card = ui.card().classes("w-full p-4 gap-1 dark:bg-slate-800 shadow-sm")
    with card:
        ui.label(title).classes("text-base font-medium text-slate-900 dark:text-slate-50")
        if subtitle:
            ui.label(subtitle).classes("text-xs text-slate-500 dark:text-slate-400")
    return card
