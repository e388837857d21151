"""The benchmark's report: tables for the terminal and the measured section of docs/benchmarks.md."""

from __future__ import annotations

import contextlib
import importlib.metadata
import math
import os
import platform
import subprocess
from pathlib import Path

from bench.ceiling import CeilingResult
from bench.measure import Window
from bench.phase import PhaseResult, say
from dsr.devstack.kafka import KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- measured:begin -->", "<!-- measured:end -->"
# Before issue 9's work: 56-58 ms of worker CPU per case at saturation, 89-92 Kafka messages per case
# (the run of 2026-11-26, one worker, same machine and command).
BASELINE_CPU_MS = 58.0
AIMS = {"ratio %": 1.25, "two workers ÷ one": 1.4, "p99 ms at 20/s": 2000, "messages per case": 40}


def _f(value: float | None, digits: int = 0) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:,.{digits}f}"


def ratio(r: PhaseResult, ceiling: CeilingResult | None) -> float:
    """Sustained complete cases/s ÷ the ceiling's messages/s, in percent."""
    return 100 * r.sustained / ceiling.messages_per_s if ceiling and not math.isnan(r.sustained) else math.nan


def phase_row(r: PhaseResult, ceiling: CeilingResult | None) -> dict[str, str]:
    """What the issue asks for, per phase."""
    return {
        "workers": str(r.workers),
        "offered/s": _f(r.rate),
        "cases": str(r.cases),
        "completed in time": str(r.completed),
        "sustained cases/s": _f(r.sustained, 1),
        "p50 ms": _f(r.p50),
        "p99 ms": _f(r.p99),
        "Kafka msg/case": _f(r.messages_per_case, 1),
        "worker CPU ms/case": _f(r.cpu_ms_per_case),
        "cases/s ÷ ceiling msg/s": f"{_f(ratio(r, ceiling), 2)}%",
        "dead letters": str(sum(r.dead_letters.values())),
    }


def diagnosis_row(r: PhaseResult) -> dict[str, str]:
    """Where the time goes: CPU, idle time with work queued, memory."""
    w = r.window or Window()
    return {
        "workers": str(r.workers),
        "offered/s": _f(r.rate),
        "achieved/s": _f(r.achieved, 1),
        "to verification e-mail p50 ms": _f(r.to_verification_p50),
        "click → outcome p50 ms": _f(r.click_to_outcome_p50),
        "workers CPU": f"{_f(w.workers_cpu)}%",
        "with work queued": f"{_f(w.cpu_with_work)}%",
        "stalled": f"{_f(w.stalled_seconds, 1)} s",
        "Kafka JVM CPU": f"{_f(w.cpu.get('kafka', math.nan))}%",
        "bench CPU": f"{_f(w.cpu.get('bench', math.nan))}%",
        "machine busy": f"{_f(w.machine_busy)}%",
        "worker peak RSS MB": _f(w.workers_peak_rss_mb),
    }


def markdown_table(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return []
    keys = list(rows[0])
    head = ["| " + " | ".join(keys) + " |", "|" + "|".join("---:" for _ in keys) + "|"]
    return head + ["| " + " | ".join(row.values()) + " |" for row in rows] + [""]


def print_table(rows: list[dict[str, str]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    say("  " + "  ".join(k.rjust(widths[k]) for k in keys))
    for row in rows:
        say("  " + "  ".join(row[k].rjust(widths[k]) for k in keys))


def machine() -> dict[str, str]:
    info = {"nproc": str(os.cpu_count()), "usable cores": str(len(os.sched_getaffinity(0)))}
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                info["memory"] = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    with contextlib.suppress(OSError):
        models = [
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ]
        info["CPU"] = f"{models[0]} (×{len(models)})" if models else "?"
    info["OS"] = f"{platform.system()} {platform.release()}"
    info["Python"] = platform.python_version()
    info["Java"] = _java()
    info["Kafka"] = f"{KAFKA_VERSION} (embedded KRaft, 1 node, dsr.devstack.kafka, -Xmx512m, SerialGC)"
    info["packages"] = ", ".join(_versions())
    return info


def _java() -> str:
    try:
        java = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=20).stderr
    except (OSError, subprocess.SubprocessError):
        return "?"
    return java.splitlines()[0] if java else "?"


def _versions() -> list[str]:
    versions = []
    for package in ("faust-streaming", "aiokafka", "kafka-python", "aiohttp", "aiosmtplib", "aiosmtpd", "pydantic"):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions.append(f"{package} {importlib.metadata.version(package)}")
    return versions


def measured_section(ctx: dict) -> str:
    phases: list[PhaseResult] = ctx["phases"]
    lines = [BEGIN, "", *_run_lines(ctx), *_ceiling_lines(ctx["ceiling"]), *_seeding_lines(ctx.get("seeding"))]
    lines += _method_lines()
    lines += markdown_table([phase_row(r, ctx["ceiling"]) for r in phases])
    lines += ["Where the time goes (CPU as % of one core over the phase; machine busy as % of all cores):", ""]
    lines += markdown_table([diagnosis_row(r) for r in phases])
    for r in phases:
        lines += _phase_lines(r)
    lines += ["## Aims", "", *targets(ctx), "", "## Observations (computed from this run)", ""]
    lines += [*observations(ctx), "", END]
    return "\n".join(lines)


def _run_lines(ctx: dict) -> list[str]:
    lines = [
        "## Run",
        "",
        f"- **Date:** {ctx['date']}",
        f"- **Command:** `{ctx['command']}` (from the repository root; "
        f"`make bench` runs `.venv/bin/python -m bench.pipeline`)",
        f"- **Total run time:** {ctx['total']:.0f} s",
    ]
    lines += [f"- **{key}:** {value}" for key, value in ctx["machine"].items()]
    lines += [f"- **Worker settings:** {ctx['settings']}", ""]
    if ctx.get("failed"):
        lines += [f"**This run FAILED:** {ctx['failed']}", ""]
    return lines


def _ceiling_lines(ceiling: CeilingResult | None) -> list[str]:
    lines = ["## Ceiling: raw aiokafka on the same broker", ""]
    if not ceiling:
        return [*lines, "(not run)", ""]
    return lines + [
        "One Python process: producer → topic A → consumer that produces each message to topic B → consumer "
        f"of B; 1 partition per topic, acks=all, values of {ceiling.value_bytes} bytes of JSON.",
        "",
        "| measurement | messages | throughput end to end | p50 latency | p99 latency |",
        "|---|---:|---:|---:|---:|",
        f"| saturated (all sent at once) | {ceiling.received:,}/{ceiling.messages:,} | "
        f"**{ceiling.messages_per_s:,.0f} msg/s** | {ceiling.p50_ms:,.0f} ms | {ceiling.p99_ms:,.0f} ms |",
        f"| unloaded (one in flight) | {ceiling.unloaded_messages} | – | {ceiling.unloaded_p50_ms:.1f} ms | "
        f"{ceiling.unloaded_p99_ms:.1f} ms |",
        "",
    ]


def _seeding_lines(seeding: dict | None) -> list[str]:
    lines = ["## Seeding (untimed)", ""]
    if not seeding:
        return [*lines, 'Not done (`--no-seed`): the persons are unknown, every case ends with a "no data" answer.', ""]
    return lines + [
        f"Before the phases, one quote request (`dsr.form.quote_requested`, e-mail marketing consent) was "
        f"published for every person of every phase, so each erasure finds data in the CRM and the "
        f"newsletter: {seeding['acknowledged']}/{seeding['quotes']} acknowledged in {seeding['seconds']:.1f} s "
        f"({seeding['per_s']:.1f} form submissions/s, published all at once), settled after "
        f"{seeding['settled_seconds']:.1f} s.",
        "",
    ]


def _method_lines() -> list[str]:
    return [
        "## Erasure cases end to end",
        "",
        "A case: the `dsr.rights.requested` CloudEvent is published to `dsr.intake` → receipt e-mail → lookups "
        "→ verification e-mail → the benchmark POSTs the link as soon as the SMTP server has the e-mail → "
        "suppression and erase tasks → Art. 19 notices → outcome e-mail accepted by the SMTP server. Latency is "
        "submission → outcome accepted (the benchmark's own click included). Sustained = every completed case "
        "/ (first submission → last outcome), people confirming up to --finish-timeout s after the phase "
        "timeout. Kafka msg/case = every message written during the phase (all topics, changelogs and audit "
        "included) / cases submitted. Worker CPU ms/case = CPU of all worker processes over the phase / "
        "completed cases (– when cases were left unfinished). A phase that writes to any dead-letter topic "
        "fails the run.",
        "",
    ]


def _phase_lines(r: PhaseResult) -> list[str]:
    w = r.window or Window()
    cpu = ", ".join(f"{name} {value:.0f}%" for name, value in sorted(w.cpu.items()))
    by_topic = ", ".join(f"{t} {v}" for t, v in sorted(r.kafka_by_topic.items(), key=lambda kv: -kv[1]))
    lag = ", ".join(f"{t} {v}" for t, v in sorted(r.max_lag.items(), key=lambda kv: -kv[1]) if v) or "none"
    return [
        f"### {r.workers} worker{'s' if r.workers > 1 else ''}, {r.rate:g} cases/s offered, {r.cases} cases",
        "",
        f"- submitted {r.submitted} in {r.submit_seconds:.1f} s; phase timeout {r.timeout_seconds:.0f} s"
        f"{' — **reached**' if r.timed_out else ''}; completed within it {r.completed} ({r.achieved:.1f}/s), "
        f"{r.late_outcomes} more after it; sustained **{r.sustained:.1f} cases/s**",
        f"- outcomes: {', '.join(f'{k} {v}' for k, v in sorted(r.outcomes.items())) or '–'}",
        f"- latency submission → outcome: p50 {r.p50:,.0f} ms, p99 {r.p99:,.0f} ms, max {r.max:,.0f} ms; "
        f"of which → verification e-mail p50 {r.to_verification_p50:,.0f} ms, the click p50 {r.click_p50:,.0f} ms, "
        f"click → outcome p50 {r.click_to_outcome_p50:,.0f} ms",
        f"- CPU (% of one core, over {w.seconds:.0f} s): {cpu}; machine {w.machine_busy:.0f}% busy of "
        f"{os.cpu_count()} cores; workers under 10% for {w.stalled_seconds:.1f} s while work was queued",
        f"- Kafka messages written: {r.kafka_messages:,} ({r.messages_per_case:.1f} per case: {by_topic})",
        f"- dead letters: {', '.join(f'{t} {n}' for t, n in r.dead_letters.items()) or 'none'}",
        f"- highest consumer lag seen (committed offsets, every 2 s): {lag}",
        f"- backlog drained {'in' if r.drained else 'NOT within'} {r.drain_seconds:.0f} s after the phase",
        "",
    ]


def best(phases: list[PhaseResult], workers: int) -> PhaseResult | None:
    """The phase of that many workers with the highest sustained rate."""
    found = [r for r in phases if r.workers == workers and not math.isnan(r.sustained)]
    return max(found, key=lambda r: r.sustained, default=None)


def targets(ctx: dict) -> list[str]:
    phases: list[PhaseResult] = ctx["phases"]
    ceiling = ctx["ceiling"]
    top = max((r for r in phases if not math.isnan(r.sustained)), key=lambda r: r.sustained, default=None)
    out = []
    if top is not None and ceiling:
        value = ratio(top, ceiling)
        out.append(_aim(value >= AIMS["ratio %"], f"cases/s ÷ ceiling msg/s ≥ {AIMS['ratio %']} %", f"{value:.2f} %"))
    one, two = best(phases, 1), best(phases, 2)
    if one and two:
        gain = two.sustained / one.sustained
        text = f"{gain:.2f}× ({two.sustained:.1f} vs {one.sustained:.1f} cases/s sustained)"
        out.append(_aim(gain >= AIMS["two workers ÷ one"], "two workers ≥ 1.4× one", text))
    for r in (r for r in phases if r.rate == 20):
        ok = r.p99 < AIMS["p99 ms at 20/s"] and not r.incomplete
        out.append(_aim(ok, f"p99 < 2 s at 20 cases/s ({r.workers} worker(s))", f"{r.p99:,.0f} ms"))
    out += _per_case_aims(phases)
    return out or ["- no phase ran"]


def _per_case_aims(phases: list[PhaseResult]) -> list[str]:
    per_case = [r.messages_per_case for r in phases if not math.isnan(r.messages_per_case)]
    cpu = sorted(r.cpu_ms_per_case for r in phases if r.workers == 1 and not math.isnan(r.cpu_ms_per_case))
    out = []
    if per_case:
        mean = sum(per_case) / len(per_case)
        out.append(_aim(mean <= AIMS["messages per case"], "≤ 40 Kafka messages per case", f"{mean:.1f}"))
    if cpu:
        median = cpu[len(cpu) // 2]
        text = f"{median:.0f} ms (median of the one-worker phases; {BASELINE_CPU_MS:.0f} ms before)"
        out.append(_aim(median <= BASELINE_CPU_MS / 2, "half the worker CPU per case", text))
    dead = {t: n for r in phases for t, n in r.dead_letters.items()}
    out.append(_aim(not dead, "no dead letter", ", ".join(f"{t} {n}" for t, n in sorted(dead.items())) or "none"))
    return out


def _aim(ok: bool, what: str, measured: str) -> str:
    return f"- **{what}: {'met' if ok else 'NOT met'}** — {measured}"


def observations(ctx: dict) -> list[str]:
    phases: list[PhaseResult] = ctx["phases"]
    if not phases:
        return ["- no phase ran"]
    out = []
    for workers in sorted({r.workers for r in phases}):
        top = best(phases, workers)
        if top is None:
            continue
        w = top.window or Window()
        out.append(
            f"- {workers} worker(s): best sustained {top.sustained:.1f} cases/s at {top.rate:g}/s offered; "
            f"workers {w.workers_cpu:.0f}% of one core (event-loop threads {w.workers_main_thread_cpu:.0f}%), "
            f"Kafka JVM {w.cpu.get('kafka', math.nan):.0f}%, "
            f"this benchmark {w.cpu.get('bench', math.nan):.0f}%; machine {w.machine_busy:.0f}% busy."
        )
    return out


def write_doc(ctx: dict, path: Path = DOC) -> None:
    measured = measured_section(ctx)
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        content = head + measured + rest.split(END, 1)[1]
    else:
        content = (
            "# Benchmarks\n\nMeasured by `bench/` (see bench/README.md). The section between the `measured` "
            "markers is rewritten by every run of `python -m bench.pipeline`; the text after it is kept.\n\n"
            + measured
            + "\n"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
