"""Cost of `services.chat.rendering.render_markdown`: typical texts, then crafted worst cases.

Typical: three 2 KB texts (a typical answer, dense prose with a tag in every sentence, one
long code block), each rendered `--rounds` times with the cache bypassed; median and p95 wall
time per call in microseconds, split between markdown-it and bleach.

Worst cases (issue 13): 32k characters of each crafted shape (nested links, backticks, tabs,
`*`/`_`/`<` runs, deep quotes and lists, brackets, HTML-ish text, long lines, ...). For each:

- `CPU render`: the full render in this process, uncached (what the work costs);
- `in worker`: wall time until the HTML is back from `services.chat.render_worker` (a
  separate process that cuts any render at RENDER_TIMEOUT_SECONDS to plain text);
- `loop stall`: the longest event-loop stall while the chat page draws that message the way
  `components.chat_message.markdown_html` does (plain text now, HTML from the worker);
- with `--before DIR`: the old renderer of that tree (`DIR/services/rendering.py`, markdown2)
  in a separate process with a `--timeout`, which ran on the event loop, so its render time
  was the stall.

By size (issue 14): a realistic answer of prose, lists, highlighted code and LaTeX math at
1k, 4k, 8k, 16k and 32k characters: uncached render time in this process (what it costs the
event loop if drawn there; over INLINE_RENDER_CHARS the page renders in the worker instead), and
`render_partial` of the streaming tail for the same shapes.

Run: `uv run python -m bench.render_markdown [--rounds 300] [--before /work/before]`
(`--sizes-only` prints just the by-size table).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from services.chat import render_worker, rendering

SENTENCE = "The service keeps every token and dollar of a turn, so budgets hold across the team. "
TYPICAL = (
    "## Summary\n\nHere is what changed and why. " + SENTENCE * 5 + "\n\n"
    "- Budgets are checked **before** a turn starts.\n"
    "- Costs are stored in integer micro-dollars.\n"
    "- See [the pricing page](https://openai.com/api/pricing/) for the current prices.\n\n"
    "```python\ndef cost(tokens: int, price: int) -> int:\n"
    "    return tokens * price // 1_000_000\n```\n\n" + SENTENCE * 8
)
DENSE = "Use **this** with `code` and a [link](https://example.com/docs) in each sentence. " * 30
CODE = "```python\n" + "def double(x: int) -> int:\n    return x * 2  # comment\n" * 40 + "```\n"
TEXTS = {name: text[:2048] for name, text in
         {"typical": TYPICAL * 2, "dense": DENSE, "code": CODE}.items()}  # fmt: skip

MIXED = (
    "## Solving it\n\nThe roots of $ax^2+bx+c=0$ are $x=\\frac{-b\\pm\\sqrt{b^2-4ac}}{2a}$, "
    "so **two** answers unless the *discriminant* is zero.\n\n"
    "$$\\int_0^1 x^2\\,dx = \\frac{1}{3}$$\n\n"
    "- Check `b*b - 4*a*c` first.\n- Then divide by `2*a`.\n\n"
    "```python\nimport math\n\n\ndef roots(a: float, b: float, c: float) -> tuple[float, ...]:\n"
    '    """The real roots of a quadratic."""\n    d = b * b - 4 * a * c  # discriminant\n'
    "    if d < 0:\n        return ()\n    r = math.sqrt(d)\n"
    "    return ((-b - r) / (2 * a), (-b + r) / (2 * a))\n```\n\n" + SENTENCE * 3 + "\n\n"
)
SIZES = (1_000, 4_000, 8_000, 16_000, 32_000)
WORST_SIZE = 32_000
# Each shape is repeated (or built) up to WORST_SIZE characters.
WORST = {
    "nested links `[a](`": "echo: " + "[a](" * 8000,
    "backticks": "`" * WORST_SIZE,
    "code spans `a` ": "`a` " * 8000,
    "tabs in one line": "a" + "\t" * WORST_SIZE,
    "tab table (1,000 tabs/line)": ("a\t" * 1000 + "\n") * 16,
    "`*` run": "*" * WORST_SIZE,
    "`*a` run": "*a" * 16000,
    "`_` run": "_" * WORST_SIZE,
    "`_a ` run": "_a " * 11000,
    "`*_` mix": "*_" * 16000,
    "`~~a` run": "~~a" * 11000,
    "`<` run": "<" * WORST_SIZE,
    "HTML-ish `<a href=`": '<a href="x">' * 2700,
    "autolinks `<http://`": "<http://" * 4000,
    "entities `&#`": "&#" * 16000,
    "quotes `> > >`": "> " * 16000,
    "deep list": "".join("  " * (i % 200) + "- x\n" for i in range(1000)),
    "brackets `[`": "[" * WORST_SIZE,
    "images `![`": "![" * 16000,
    "nested brackets": "[" * 6000 + "a" + "](b)" * 6000,
    "reference defs": "[a]: " * 6400,
    "table pipes": ("|x" * 100 + "|\n") * 2 + ("|-" * 100 + "|\n") + ("|x" * 100 + "|\n") * 150,
    "long line of words": "word " * 6400,
    "long word": "x" * WORST_SIZE,
}
OLD_RENDER = """
import json, sys, time
from services import rendering
text = sys.stdin.read()
start = time.perf_counter()
try:
    rendering.render_markdown.__wrapped__(text)
    outcome = "ok"
except Exception as exc:
    outcome = type(exc).__name__
print(json.dumps({"ms": (time.perf_counter() - start) * 1e3, "outcome": outcome}))
"""


def _median_p95(fn: Callable[[str], object], text: str, rounds: int) -> tuple[float, float]:
    fn(text)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.95)] * 1e6


def _typical(rounds: int) -> None:
    uncached = rendering.render_markdown.__wrapped__
    markdown = rendering._renderers.markdown
    for name, text in TEXTS.items():
        total, p95 = _median_p95(uncached, text, rounds)
        md, _ = _median_p95(markdown.render, text, rounds)
        clean, _ = _median_p95(rendering.sanitize_html, markdown.render(text), rounds)
        print(
            f"{name:8} {len(text):5} chars  render median {total:7.0f} us  p95 {p95:7.0f} us"
            f"  (markdown-it {md:6.0f} us, bleach {clean:6.0f} us)"
        )


def _mixed(size: int) -> str:
    """MIXED repeated to `size` characters, cut at a block boundary so fences stay closed;
    each copy's formulas differ, so the formula cache does not flatter the figures."""
    copies = (MIXED.replace("c=0", f"c={i}").replace("{3}", f"{{{i}}}") for i in range(size))
    text = ""
    while len(text) < size:
        text += next(copies)
    return text[: text.rfind("\n\n", 0, size) + 2]


def _cpu_median(fn: Callable[[str], object], text: str, rounds: int) -> float:
    """Median CPU time of `fn(text)` in ms (CPU, not wall: the machine may be shared)."""
    times = []
    for _ in range(rounds):
        start = time.process_time()
        fn(text)
        times.append(time.process_time() - start)
    return statistics.median(times) * 1e3


def _by_size(rounds: int) -> None:
    render_worker.warm([("warm the worker " * 20, [])], budget_seconds=60)
    print(
        f"\n{'by size (code + math)':30} {'CPU render':>11} {'math only':>10} {'in worker':>10}"
        f" {'loop stall':>11} {'tail partial':>13}"
    )
    tail = MIXED.split("\n\n")[1][:300] + " and **more"  # a streaming paragraph, open `**`
    partial = _cpu_median(rendering.render_partial, tail, rounds)
    for size in SIZES:
        text = _mixed(size)
        rendering.math_html.cache_clear()
        total = _cpu_median(rendering.render_markdown.__wrapped__, text, 1)
        rendering.math_html.cache_clear()
        math_only = _cpu_median(
            lambda t: [rendering.math_html(f, False) for f in t.split("$")[1::2]], text, 1
        )
        rendering.math_html.cache_clear()
        loop_ms, wall_ms = asyncio.run(_page_draw_stall(text))
        print(
            f"{len(text):6} chars {text.count('```') // 2:3} code {text.count('$') // 2:4} math"
            f" {total:8.1f} ms {math_only:7.1f} ms {wall_ms:7.1f} ms {loop_ms:8.1f} ms"
            f" {partial:10.2f} ms"
        )
    render_worker.shutdown()
    print(
        f"over {rendering.INLINE_RENDER_CHARS} characters a finished message renders in the "
        "worker process (off the event loop); the streaming tail renders on it per burst"
    )


async def _page_draw_stall(text: str) -> tuple[float, float]:
    """(longest loop stall, wall time) in ms while a message is drawn as the chat page does.

    That is `components.chat_message.markdown_html`: the HTML at once when cheap, else plain
    text at once and `render_worker.render_isolated` through a thread.
    """
    rendering.render_markdown.cache_clear()
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    start = time.perf_counter()
    if rendering.render_if_cheap(text) is None:
        rendering.plain_html(text)  # what the page shows until the worker is done
        await asyncio.to_thread(render_worker.render_isolated, text)
    wall = time.perf_counter() - start
    done.set()
    await task
    return max(stalls) * 1e3, wall * 1e3


def _old_render(before: Path, text: str, timeout: float) -> str:
    try:
        result = subprocess.run(
            [sys.executable, "-c", OLD_RENDER],
            input=text,
            capture_output=True,
            text=True,
            cwd=before,
            timeout=timeout,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f} s (killed)"
    figures = json.loads(result.stdout)
    outcome = "" if figures["outcome"] == "ok" else f" {figures['outcome']}"
    return f"{figures['ms']:9.1f} ms{outcome}"


def _worst(before: Path | None, timeout: float) -> None:
    render_worker.warm([("warm the worker " * 20, [])], budget_seconds=60)
    print(
        f"\n{'shape (32k chars)':28} {'CPU render':>11} {'in worker':>10} {'loop stall':>11}"
        + ("   before: markdown2 on the loop" if before else "")
    )
    worst_loop = 0.0
    for name, shape in WORST.items():
        text = shape[:WORST_SIZE]
        start = time.perf_counter()
        rendering.render_markdown.__wrapped__(text)
        render_ms = (time.perf_counter() - start) * 1e3
        loop_ms, wall_ms = asyncio.run(_page_draw_stall(text))
        worst_loop = max(worst_loop, loop_ms)
        line = f"{name:28} {render_ms:8.1f} ms {wall_ms:7.1f} ms {loop_ms:8.1f} ms"
        if before is not None:
            line += "   " + _old_render(before, text, timeout)
        print(line, flush=True)
    render_worker.shutdown()
    print(
        f"worst event-loop stall: {worst_loop:.1f} ms (target: under 50 ms); renders over "
        f"{render_worker.RENDER_TIMEOUT_SECONDS:g} s in the worker are cut to plain text"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--before", type=Path, help="a tree with the old services/rendering.py")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per old render")
    parser.add_argument("--sizes-only", action="store_true", help="only the by-size table")
    args = parser.parse_args()
    if args.sizes_only:
        _by_size(args.rounds)
        return
    _typical(args.rounds)
    _by_size(args.rounds)
    _worst(args.before, args.timeout)


if __name__ == "__main__":
    main()
