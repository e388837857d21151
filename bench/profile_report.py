"""Summarises what bench/profiler/sitecustomize.py recorded in the worker (`bench.pipeline --profile`).

python -m bench.profile_report /tmp/dsr-bench-XXXX/profile.json
"""

from __future__ import annotations

import collections
import json
import sys
from pathlib import Path

# Where the worker's CPU goes, by the pipeline stage that asked for it (first bucket with a matching frame wins).
HANDLERS = [
    (
        "mailer: render, build, send each e-mail over a new SMTP connection (streams/notifications.py)",
        [
            "streams/notifications.py:on_email_requested",
            "aiosmtplib/",
            "base_events.py:create_connection",
            "_call_connection_lost",
        ],
    ),
    ("coordinator: case events (streams/cases.py)", ["streams/cases.py:on_case_event"]),
    ("intake: CloudEvents, forms (streams/intake.py)", ["streams/intake.py:on_intake_message"]),
    ("task results (streams/task_results.py)", ["streams/task_results.py:on_task_result"]),
    (
        "built-in task runners (streams/tasks.py, handlers/)",
        ["streams/tasks.py:on_task", "asyncio/threads.py:to_thread"],
    ),
    ("web: listeners (streams/web/, aiohttp)", ["streams/web/", "aiohttp/"]),
    ("clock tick (streams/cases.py:due_ticks)", ["streams/cases.py:due_ticks"]),
    (
        "faust: consumer, dispatch, stream and agent loops",
        [
            "faust/transport/consumer.py",
            "faust/transport/conductor.py",
            "faust/streams.py",
            "faust/agents/",
            "faust/channels.py",
        ],
    ),
    (
        "Kafka client: produce batches, network I/O (aiokafka, faust producer)",
        ["aiokafka/", "faust/transport/producer.py", "faust/topics.py"],
    ),
    ("main thread idle in select: CPU of the other threads (consumer thread, thread pool)", ["selectors.py:select"]),
    ("start-up (imports)", ["<frozen importlib"]),
]
# ... and by the library doing the work (innermost match wins).
LIBRARIES = [
    ("std email: MIME build, headers, serialise", "/email/"),
    ("aiosmtplib: SMTP client", "aiosmtplib/"),
    ("jinja2 templates", "jinja2/"),
    ("pydantic models", "pydantic/"),
    ("SQLite key vault (dsr/vault.py)", "dsr/vault.py"),
    ("crypto (AES-GCM sealing)", "cryptography/"),
    ("aiokafka client/protocol", "aiokafka/"),
    ("faust", "faust/"),
    ("mode (faust services)", "mode/"),
    ("aiohttp", "aiohttp/"),
    ("asyncio event loop, sockets", "asyncio/"),
    ("selectors (main thread idle: other threads' CPU)", "selectors.py"),
]


def _short(frame: str) -> str:
    for prefix in ("<venv>/lib/python3.11/site-packages/", "/work/main/"):
        frame = frame.replace(prefix, "")
    if "/lib/python3." in frame:
        frame = "std/" + frame.split("/lib/python3.", 1)[1].split("/", 1)[1]
    return frame


def _function(frame: str) -> str:
    return _short(frame).rsplit(":", 1)[0]


GENERIC = ("/asyncio/", "mode/", "<venv>/lib/python3.11/site-packages/mode")


def _meaningful(where: str, keep: int = 3) -> str:
    """The innermost frames of a wait that are not asyncio or mode plumbing (or the innermost one)."""
    frames = where.split(" <- ")
    useful = [f for f in frames if not any(g in f for g in GENERIC)]
    return " <- ".join(_short(f) for f in (useful[:keep] or frames[:1]))


def summarize(path: Path, top: int = 12) -> str:
    data = json.loads(Path(path).read_text())
    stacks = [(key.split(";"), count) for key, count in data["stacks"]]
    total = sum(count for _, count in stacks) or 1
    out = [f"CPU samples (10 ms of worker CPU each): {total}"]
    for title, counter in _counters(stacks).items():
        out.append(f"\n{title}:")
        out += [f"  {100 * count / total:5.1f}%  {name}" for name, count in counter.most_common(top)]
    return "\n".join(out + _stalls(data, top))


def _counters(stacks: list[tuple[list[str], int]]) -> dict[str, collections.Counter]:
    """Samples by pipeline stage (inclusive), by library and by function (innermost frame)."""
    by_handler: collections.Counter = collections.Counter()
    by_library: collections.Counter = collections.Counter()
    by_self: collections.Counter = collections.Counter()
    for frames, count in stacks:
        handler = next(
            (name for name, needles in HANDLERS for needle in needles for f in frames if needle in f),
            "other (event-loop callbacks, faust services)",
        )
        by_handler[handler] += count
        by_library[next((name for f in reversed(frames) for name, needle in LIBRARIES if needle in f), "other")] += (
            count
        )
        by_self[_function(frames[-1])] += count
    return {
        "by pipeline stage (inclusive)": by_handler,
        "by library (innermost)": by_library,
        "hottest functions (self)": by_self,
    }


def _stalls(data: dict, top: int) -> list[str]:
    """Seconds the worker sat under 10% CPU between busy ones, and where its tasks waited then."""
    cpu = dict(data.get("cpu_per_second", []))
    if not cpu:
        return []
    busy = [s for s in sorted(cpu) if cpu[s] >= 50]
    stalls = [s for s in range(busy[0], busy[-1]) if cpu.get(s, 0) < 10] if busy else []
    out = [f"\nstalls: {len(stalls)} s with < 10% CPU between the first and last busy second ({len(busy)} s at >= 50%)"]
    for kind in ("main", "thread"):
        waits: collections.Counter = collections.Counter()
        for second in stalls:
            for where, count in data["waits"].get(f"{second}/{kind}", []):
                waits[_meaningful(where)] += count
        if waits:
            thread = "main event loop" if kind == "main" else "consumer thread"
            out.append(f"  where the {thread}'s tasks wait in those seconds (snapshot counts):")
            out += [f"    {count:5d}  {where}" for where, count in waits.most_common(top)]
    return out


if __name__ == "__main__":
    print(summarize(Path(sys.argv[1])))
