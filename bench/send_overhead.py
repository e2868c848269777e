"""What one send costs the server outside the model call: the send's checks and inserts (with
the budget reservation) and the final save (with the settlement), sequentially, p50/p95.
It also prints the send's CPU time and SQL statements, which a busy machine does not distort.

Runs the real chat service on a temporary SQLite database against the simulator (real SDK over
HTTP, 20-token replies at full speed), with a monthly budget set so the budget path runs.
`--app DIR` measures another checkout (e.g. the tree before the ledger, old module layout), with
that checkout's own `.venv`:

    uv run python -m bench.send_overhead [--sends 200] [--app /work/before]
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

from bench.app_process import ROOT, app_python

# Runs inside the measured checkout, so it names modules of both layouts (before/after issue 10).
PROBE = r"""
import asyncio, os, statistics, sys, tempfile, time
work = tempfile.mkdtemp(prefix="send-bench-")
os.environ.update(DATA_DIR=work, DATABASE_URL=f"sqlite:///{work}/bench.db",
    SECRET_KEY="bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz", BCRYPT_ROUNDS="4",
    OPENAI_API_KEY="sk-bench", DEFAULT_MONTHLY_BUDGET_USD="1000", LOG_LEVEL="WARNING",
    MAX_MESSAGES_PER_CONVERSATION="100000", SENDS_PER_MINUTE="100000")
sys.path.insert(0, os.getcwd())
try:
    from core import db
    from services.accounts.users import create_user
    from services.assistants.manage import AssistantInput, create_assistant
    from services.chat import conversations, generation
    from services.chat import turn as chat
    from simulator.server import start_simulator
except ImportError:  # the layout before issue 10
    from app import db
    from services.accounts import create_user
    from services.assistants import AssistantInput, create_assistant
    from services import chat, conversations, generation
    from services.llm.simulator import start_simulator
import sqlalchemy as sa
statements = [0]
def count_statement(*args):
    statements[0] += 1
sa.event.listen(sa.engine.Engine, "before_cursor_execute", count_statement)
sim = start_simulator()
os.environ["OPENAI_BASE_URL"] = sim.base_url
db.migrate()
user = create_user("bench", "password123")
assistant = create_assistant(user, AssistantInput(name="Bench", model="gpt-4.1-mini"))
cid = conversations.create_conversation(user, assistant.id).id

async def run(n):
    sends, turns, cpu, sql = [], [], [], []
    for i in range(n + 10):
        start, cpu_start, sql_start = time.perf_counter(), time.process_time(), statements[0]
        turn = await chat.send(user, cid, "echo: [[sim:tokens=20]] hello")
        sent, cpu_sent, sql_sent = time.perf_counter(), time.process_time(), statements[0]
        await generation.wait(turn.assistant_message_id)
        if i >= 10:  # warm-up: imports, caches, the first connections
            sends.append(sent - start)
            turns.append(time.perf_counter() - start)
            cpu.append(cpu_sent - cpu_start)
            sql.append(sql_sent - sql_start)
    return sends, turns, cpu, sql

sends, turns, cpu, sql = asyncio.run(run(int(sys.argv[1])))
def pct(values, p):
    return sorted(values)[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] * 1000
print(f"send (checks, reservation, inserts): p50 {pct(sends, 50):.2f} ms, "
      f"p95 {pct(sends, 95):.2f} ms")
print(f"send CPU (this process): p50 {pct(cpu, 50):.2f} ms, p95 {pct(cpu, 95):.2f} ms; "
      f"SQL statements per send: {statistics.mean(sql):.1f}")
print(f"whole turn to saved (20-token reply, settlement included): p50 {pct(turns, 50):.2f} ms, "
      f"p95 {pct(turns, 95):.2f} ms")
sim.stop()
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--app", type=Path, default=ROOT, help="checkout to measure")
    args = parser.parse_args()
    print(f"app: {args.app}, {args.sends} sequential sends")
    subprocess.run([app_python(args.app), "-c", PROBE, str(args.sends)], cwd=args.app, check=True)


if __name__ == "__main__":
    main()
