"""Diagnosis only, never part of the pipeline: `python -m bench.pipeline --profile` puts this directory on
the worker's PYTHONPATH, so Python imports this module at start-up (site.py imports `sitecustomize`).

With DSR_BENCH_PROFILE_OUT set it
  * samples the main thread's Python stack on SIGPROF, every 10 ms of the process's CPU time: a CPU
    profile without py-spy (C code shows as its Python caller; CPU of other threads shows as the main
    thread idle in `select`);
  * every 0.25 s, notes where each asyncio task of every event loop is waiting, per wall-clock second
    (to explain stalls: seconds with work queued and no CPU used);
and rewrites DSR_BENCH_PROFILE_OUT (JSON) every 2 s. It adds overhead: numbers from a profiled run are
not benchmark results.

Experiment, equally outside the pipeline: with DSR_BENCH_FETCH_MAX_WAIT_MS set, every aiokafka consumer in
the worker long-polls the broker for at most that long instead of the 1500 ms faust hard-codes
(faust/transport/drivers/aiokafka.py), to test whether the idle stretches come from that long poll:

    python -m bench.pipeline --rates 20,50 --seconds 8 --ceiling-messages 0 --no-report \
        --worker-env PYTHONPATH=bench/profiler --worker-env DSR_BENCH_FETCH_MAX_WAIT_MS=50
"""

import os

if os.environ.get("DSR_BENCH_FETCH_MAX_WAIT_MS"):
    import aiokafka.consumer.consumer as _aiokafka_consumer

    _consumer_init = _aiokafka_consumer.AIOKafkaConsumer.__init__

    def _init_with_fetch_wait(self, *args, **kwargs):
        kwargs["fetch_max_wait_ms"] = int(os.environ["DSR_BENCH_FETCH_MAX_WAIT_MS"])
        _consumer_init(self, *args, **kwargs)

    _aiokafka_consumer.AIOKafkaConsumer.__init__ = _init_with_fetch_wait

if os.environ.get("DSR_BENCH_PROFILE_OUT"):
    import asyncio
    import collections
    import gc
    import json
    import signal
    import sys
    import threading
    import time

    _OUT = os.environ["DSR_BENCH_PROFILE_OUT"]
    _MAIN = threading.main_thread().ident
    _loops = {}  # thread id -> event loop running in it
    _stacks = collections.Counter()  # "outer;...;inner" -> CPU samples
    _cpu_per_second = collections.Counter()  # wall second -> CPU samples (100 = one core)
    _waits = collections.defaultdict(collections.Counter)  # "second/main|thread" -> where tasks wait

    _run_forever = asyncio.BaseEventLoop.run_forever

    def _remember_loop(self, *args, **kwargs):
        _loops[threading.get_ident()] = self
        return _run_forever(self, *args, **kwargs)

    asyncio.BaseEventLoop.run_forever = _remember_loop

    def _where(code, lineno):
        return f"{code.co_filename.replace(sys.prefix, '<venv>')}:{code.co_name}:{lineno}"

    def _on_sigprof(signum, frame):
        parts = []
        while frame is not None and len(parts) < 80:
            parts.append(_where(frame.f_code, frame.f_lineno))
            frame = frame.f_back
        _stacks[";".join(reversed(parts))] += 1
        _cpu_per_second[int(time.time())] += 1

    def _await_chain(task):
        """The frames of a task from its coroutine down to what it awaits (async generators included)."""
        chain, coro = [], task.get_coro()
        while coro is not None and len(chain) < 40:
            frame = (
                getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None) or getattr(coro, "ag_frame", None)
            )
            if frame is not None:
                chain.append(_where(frame.f_code, frame.f_lineno))
            nxt = (
                getattr(coro, "cr_await", None)
                or getattr(coro, "gi_yieldfrom", None)
                or getattr(coro, "ag_await", None)
            )
            if nxt is not None and not any(hasattr(nxt, a) for a in ("cr_frame", "gi_frame", "ag_frame")):
                # e.g. async_generator_asend: the generator it drives is among its referents
                found = [r for r in gc.get_referents(nxt) if hasattr(r, "ag_frame") or hasattr(r, "cr_frame")]
                nxt = found[0] if found else None
            coro = nxt
        return chain

    def _dump():
        data = {
            "cpu_per_second": sorted(_cpu_per_second.items()),
            "stacks": _stacks.most_common(5000),
            "waits": {key: counter.most_common(60) for key, counter in list(_waits.items())},
        }
        with open(_OUT + ".tmp", "w") as handle:
            json.dump(data, handle)
        os.replace(_OUT + ".tmp", _OUT)

    def _watch():
        last_dump = time.time()
        while True:
            time.sleep(0.25)
            second = int(time.time())
            for ident, loop in list(_loops.items()):
                key = f"{second}/{'main' if ident == _MAIN else 'thread'}"
                try:
                    for task in list(asyncio.all_tasks(loop)):
                        chain = _await_chain(task)
                        if chain:
                            _waits[key][" <- ".join(reversed(chain[-10:]))] += 1
                except Exception:  # noqa: BLE001 - racing the loop's thread; skip this snapshot
                    pass
            if time.time() - last_dump > 2:
                last_dump = time.time()
                try:
                    _dump()
                except Exception:  # noqa: BLE001
                    pass

    signal.signal(signal.SIGPROF, _on_sigprof)
    signal.setitimer(signal.ITIMER_PROF, 0.01, 0.01)
    threading.Thread(target=_watch, daemon=True, name="bench-profiler").start()
