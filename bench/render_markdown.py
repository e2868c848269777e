"""Cost of `services.chat.rendering.render_markdown` per call (Markdown + bleach), uncached.

Three 2 KB texts: a typical answer (headings, list, a link, one code block), dense prose
(a link, bold and inline code in every sentence: many tags) and one long code block. Each is
rendered `--rounds` times with the LRU cache bypassed; the median and p95 wall time per call
are printed in microseconds, with the split between markdown2 and bleach.

Run: `uv run python -m bench.render_markdown [--rounds 300]`
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from services.chat import rendering

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


def _median_p95(fn: Callable[[str], object], text: str, rounds: int) -> tuple[float, float]:
    fn(text)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(text)
        times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e6, times[int(len(times) * 0.95)] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    uncached = rendering.render_markdown.__wrapped__
    convert = rendering._renderers.markdown.convert
    for name, text in TEXTS.items():
        total, p95 = _median_p95(uncached, text, rounds)
        md, _ = _median_p95(convert, text, rounds)
        clean, _ = _median_p95(rendering.sanitize_html, convert(text), rounds)
        print(
            f"{name:8} {len(text):5} chars  render median {total:7.0f} us  p95 {p95:7.0f} us"
            f"  (markdown2 {md:6.0f} us, bleach {clean:6.0f} us)"
        )


if __name__ == "__main__":
    main()
