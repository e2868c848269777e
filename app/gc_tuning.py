"""Garbage-collector settings for the serving process (measured in docs/performance.md).

CPython's cyclic collector stops the event loop while it walks objects. A full (generation 2)
collection walks every tracked object: ~0.5 µs each on the project machine, so the ~200k
objects alive after start-up plus a few thousand per open page cost 250-500 ms at 50-100
open chat pages. Start-up objects (modules, classes, functions, caches) live forever, so they
are frozen out of the collector's view; a larger first-generation threshold makes the young
collections (and through them the full ones) rarer while each young one stays short.
"""

from __future__ import annotations

import gc

# Young collection after 10,000 net new container objects (default 700): each walk stays under
# ~25 ms and they run ~15x less often. gen1 every 5 young ones (default 10) keeps its walk
# under ~50 ms at 100 open pages; gen2 every 40 gen1 ones (default 10; CPython also waits for
# 25 % growth of the old objects), i.e. about as often as before per allocated object.
THRESHOLDS = (10_000, 5, 40)


def tune_gc() -> None:
    """Collect once, freeze what is alive (start-up objects), raise the young threshold."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
