"""An external back-office system plugged into the pipeline with nothing but kafka-python and HTTP.

It consumes `dsr.tasks.<system>`, opens each task's sealed subject through the pipeline's
`POST /api/tasks/open` (bearer token from `dsr system-token <system>`), acts on its own data,
and publishes a result on `dsr.task-results`. Run it against `make run`:

    DSR_SYSTEMS=crm,recruitment,newsletter,billing DSR_BUILTIN_ADAPTERS=crm,recruitment,newsletter make run
    .venv/bin/python examples/external_system.py --system billing --token "$(.venv/bin/dsr system-token billing)"

On a cluster with TLS or credentials it reads the pipeline's DSR_KAFKA_* variables (KafkaSecurity.from_env();
in a program of your own, give kafka-python security_protocol, ssl_context, sasl_mechanism,
sasl_plain_username and sasl_plain_password yourself).
"""

from __future__ import annotations

import argparse
import json
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime

from kafka import KafkaConsumer, KafkaProducer

from handlers.kafka_security import KafkaSecurity


def open_task(dsr_url: str, token: str, raw_task: bytes) -> dict | None:
    """The task's subject in clear, or None if the person was already erased (410)."""
    request = urllib.request.Request(
        f"{dsr_url}/api/tasks/open",
        data=raw_task,
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 410:
            return None
        raise


def act(task: dict, subject: dict | None, records: dict[str, list]) -> dict:
    """This system's own logic: lookup and erase on a dict of records keyed by e-mail."""
    email = (subject or {}).get("subject", {}).get("email", "").lower()
    result = {
        "task_id": task["task_id"],
        "subject_request_id": task["subject_request_id"],
        "system": task["system"],
        "action": task["action"],
        "status": "done",
        "completed_at": datetime.now(UTC).isoformat(),
    }
    if task["action"] == "lookup":
        return result | {"holds_data": bool(records.get(email)), "channels": ["email"] if records.get(email) else []}
    if task["action"] == "erase":
        return result | {"erased_items": len(records.pop(email, []))}
    return result | {"status": "failed", "error": f"action {task['action']} is not supported by this system"}


def serve(
    bootstrap: str,
    dsr_url: str,
    token: str,
    system: str,
    records: dict[str, list],
    stop: threading.Event | None = None,
    security: KafkaSecurity | None = None,
) -> None:
    secured = (security or KafkaSecurity()).client_kwargs()
    consumer = KafkaConsumer(
        f"dsr.tasks.{system}",
        bootstrap_servers=bootstrap,
        group_id=f"backoffice-{system}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=500,
        **secured,
    )
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", **secured)
    stop = stop or threading.Event()
    try:
        while not stop.is_set():
            for message in consumer:
                task = json.loads(message.value)
                if "task_id" not in task:  # not a task (a retention scan request): this system does not scan
                    consumer.commit()
                    continue
                result = act(task, open_task(dsr_url, token, message.value), records)
                producer.send("dsr.task-results", key=message.key, value=json.dumps(result).encode()).get(30)
                consumer.commit()  # after the result is safely published: at-least-once
    finally:
        consumer.close()
        producer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--dsr-url", default="http://127.0.0.1:8081", help="the worker's admin listener")
    parser.add_argument("--system", default="billing")
    parser.add_argument("--token", required=True, help="output of `dsr system-token <system>`")
    args = parser.parse_args()
    records = {"camille.durand@example.test": [{"invoice": "F-2026-001", "amount_eur": 240}]}
    print(f"serving dsr.tasks.{args.system}; Ctrl-C to stop")
    serve(args.bootstrap, args.dsr_url, args.token, args.system, records, security=KafkaSecurity.from_env())


if __name__ == "__main__":
    main()
