"""Both listeners, route by route: what is public is on the lists below, everything else refuses a request
without credentials; hostile HTTP (huge or slow bodies, slow headers) is refused early; errors never leak."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
from contextlib import asynccontextmanager
from types import SimpleNamespace

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka.errors import KafkaConnectionError

from dsr.devstack.kafka import free_port
from schemas.cases import IdentityConfirmed
from streams import topics
from streams.app import dlq_topics
from streams.web import server
from streams.web.admin import Probes, admin_app
from streams.web.case_directory import LocalCases
from streams.web.console.accounts import ConsolePolicy
from streams.web.console.views import ConsoleViews
from streams.web.guards import Limits, answer_errors
from streams.web.pages import error_page
from streams.web.public import public_app
from streams.web.server import Listener, WebListeners, readiness
from tests.streams.bus import Bus
from tests.streams.test_flow import CAMILLE, body, example, link, raw

pytestmark = pytest.mark.streams

# The short lists. A new route is either added here, with why it needs no credential, or refuses requests
# that carry none (401/403): placing it is a conscious act.
PUBLIC = {
    "/health": "load balancers: ready or not, nothing else",
    "/verify/{token}": "a person confirms a request; the signed, expiring token is the credential",
    "/download/{token}": "a person downloads their access copy; the signed, expiring token is the credential",
    "/privacy": "placeholder policy page, served only while DSR_PRIVACY_URL is unset",
    "/": "the privacy center: the list of rights",
    "/request/{form}": "a person files a request (CSRF token, limits per address and per client)",
    "/status/{token}": "a person follows or withdraws a request; the signed, expiring token is the credential",
    "/upload/{token}": "a person uploads the document asked for; the signed, expiring token is the credential",
    "/keep/{token}": "a prospect answers the re-contact before their end; the signed, expiring token is the credential",
    "/intake": "websites post CloudEvents; it answers 401 without a site key and 403 with a bad one (test_intake_api)",
}
ADMIN_OPEN = {
    "/livez": "the orchestrator's liveness probe",
    "/readyz": "the orchestrator's readiness probe",
    "/metrics": "Prometheus; counts and durations, no personal data",
    "/console/login": "the console's login form; its POST checks a CSRF token, then the password (lock-out)",
}
# What faust and the admin listener serve, that the internet must never reach.
INTERNAL = [
    "/api/cases",
    "/api/cases/DSR-X",
    "/api/tasks/open",
    "/api/tasks/seal",
    "/api/retention/subjects",
    "/table/",
    "/table/cases/x/",
    "/router/",
    "/metrics",
    "/graph/",
    "/stats/",
    "/livez",
    "/readyz",
    "/console/",
]


async def _ready() -> bool:
    return True


async def _metrics() -> tuple[bytes, str]:
    return b"# no metrics\n", "text/plain"


PROBES = Probes(alive=lambda: True, ready=_ready, metrics=_metrics)


@asynccontextmanager
async def client(app: web.Application):
    async with TestClient(TestServer(app, host="127.0.0.1")) as http:
        yield http


def listeners(
    bus: Bus, limits: Limits = Limits(), policy: ConsolePolicy = ConsolePolicy()
) -> dict[str, web.Application]:
    console = ConsoleViews(bus.ctx, bus.directory, bus.records(), policy, dlq_topics(bus.ctx))
    return {
        "public": public_app(bus.ctx, bus.directory, lambda: True, privacy_placeholder=True, limits=limits),
        "admin": admin_app(bus.ctx, bus.directory, LocalCases(bus.cases), PROBES, limits=limits, console=console),
    }


def routes(app: web.Application) -> list[tuple[str, str]]:
    found = {(route.method, route.resource.canonical) for route in app.router.routes()}
    return sorted(found - {("HEAD", path) for _, path in found})


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


async def test_every_route_is_public_by_design_or_refuses_a_request_without_credentials():
    bus = Bus()
    apps = listeners(bus)
    assert {path for _, path in routes(apps["public"])} <= set(PUBLIC), "a public route not on the list"
    async with client(apps["admin"]) as http:
        for method, path in routes(apps["admin"]):
            if path in ADMIN_OPEN:
                continue
            response = await http.request(method, concrete(path), data=b"{}")
            assert response.status in (401, 403), f"{method} {path} answered {response.status} without credentials"
            wrong = await http.request(method, concrete(path), data=b"{}", headers={"Authorization": "Bearer x"})
            assert wrong.status in (401, 403), f"{method} {path} answered {wrong.status} to a wrong token"


async def test_nothing_internal_answers_on_the_public_listener():
    async with client(listeners(Bus())["public"]) as http:
        for path in INTERNAL:
            for method in ("GET", "POST"):
                response = await http.request(method, path, headers={"Accept-Language": "en-GB,en;q=0.9"})
                assert response.status == 404, f"{method} {path} on the public listener"
                assert "This page does not exist." in await response.text()


async def test_the_admin_probes_answer_without_credentials():
    async with client(listeners(Bus())["admin"]) as http:
        assert (await http.get("/livez")).status == 200
        assert (await http.get("/readyz")).status == 200
        assert (await http.get("/metrics")).status == 200


class Worker:
    """What /readyz reads off the faust app: table recovery, rebalancing, assigned partitions, the producer's
    client asking the broker for metadata."""

    def __init__(self, recovered=True, rebalancing=False, partitions=("dsr.cases", 0), broker="answers"):
        completed = asyncio.Event()
        if recovered:
            completed.set()
        self.tables = SimpleNamespace(recovery=SimpleNamespace(completed=completed))
        self.rebalancing = rebalancing
        self.consumer = SimpleNamespace(assignment=lambda: {partitions} if partitions else set())
        client = SimpleNamespace(fetch_all_metadata=self._metadata)
        self.producer = SimpleNamespace(_ensure_producer=lambda: SimpleNamespace(client=client))
        self.broker = broker
        self.asked = 0

    async def _metadata(self):
        self.asked += 1
        if self.broker == "refuses":
            raise KafkaConnectionError("no broker")
        if self.broker == "hangs":
            await asyncio.sleep(60)


async def readyz(worker: Worker) -> tuple[int, dict]:
    probes = Probes(alive=lambda: True, ready=readiness(worker), metrics=_metrics)
    bus = Bus()
    async with client(admin_app(bus.ctx, bus.directory, LocalCases(bus.cases), probes)) as http:
        response = await http.get("/readyz")
        return response.status, await response.json()


async def test_readyz_answers_200_only_while_the_worker_consumes_and_the_broker_answers(monkeypatch):
    assert await readyz(Worker()) == (200, {"status": "ready"})
    not_ready = (503, {"status": "not ready"})
    assert await readyz(Worker(recovered=False)) == not_ready  # its tables still replay their changelogs
    assert await readyz(Worker(rebalancing=True)) == not_ready
    assert await readyz(Worker(partitions=None)) == not_ready  # in the group, no partition assigned
    refused = Worker(broker="refuses")
    assert await readyz(refused) == not_ready and refused.asked == 1
    monkeypatch.setattr(server, "BROKER_PROBE_SECONDS", 0.1)
    assert await readyz(Worker(broker="hangs")) == not_ready  # a broker that does not answer in time


async def verification_token(bus: Bus, language: str = "fr") -> str:
    await bus.submit(raw(example("dsr.rights.requested", data={"language": language})))
    message = [m for m in bus.emails_to(CAMILLE) if "verify/" in body(m)][-1]
    return link(message, "verify")


def confirmations(bus: Bus) -> list[bytes]:
    return [
        v for v in bus.on(topics.CASES) if json.loads(v).get("kind") == IdentityConfirmed.model_fields["kind"].default
    ]


async def test_a_body_over_the_limit_is_refused_unread_and_confirms_nothing():
    bus = Bus()
    token = await verification_token(bus)
    async with client(listeners(bus)["public"]) as http:
        huge = await http.post(f"/verify/{token}", data=b"x" * (2 * 1024 * 1024))
        assert huge.status == 413
        assert "trop volumineuse" in await huge.text()  # the case's language: French

        async def chunks():
            for _ in range(40):
                yield b"y" * 65536  # 2.5 MiB without a Content-Length

        chunked = await http.post(f"/verify/{token}", data=chunks())
        assert chunked.status == 413
    assert confirmations(bus) == []


async def test_a_body_that_trickles_in_is_cut_off():
    bus = Bus()
    token = await verification_token(bus)
    async with client(listeners(bus, Limits(body_seconds=0.5))["public"]) as http:

        async def slowly():
            yield b"a"
            await asyncio.sleep(2)
            yield b"b"

        response = await http.post(f"/verify/{token}", data=slowly())
        assert response.status == 408
    assert confirmations(bus) == []


async def test_a_client_that_never_finishes_its_headers_is_disconnected():
    app = listeners(Bus(), Limits(header_seconds=0.5))["public"]
    runner = web.AppRunner(app, **Limits(header_seconds=0.5).runner_options())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        await writer.drain()
        closed = await asyncio.wait_for(reader.read(), timeout=5)  # b"" once the server closes
        assert closed == b""
        writer.close()
    finally:
        await runner.cleanup()


async def test_error_pages_speak_the_persons_language_and_hide_the_cause():
    bus = Bus()
    english = await verification_token(bus, language="en")
    async with client(listeners(bus)["public"]) as http:
        response = await http.get(f"/verify/{english[:-6]}abcdef")  # a broken signature
        assert response.status == 400
        assert "Lien non valable" in await response.text()  # no case to ask: French by default
        response = await http.get("/verify/x", headers={"Accept-Language": "en-US,en;q=0.8,fr;q=0.5"})
        assert "Invalid link" in await response.text()
        response = await http.delete(f"/verify/{english}")  # a method the route does not take
        assert response.status == 405 and "This action is not possible on this page." in await response.text()
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "no-referrer"

    async def failing(request: web.Request) -> web.Response:
        raise ValueError("camille.durand@example.test could not be found")  # an exception that quotes data

    async def english(request: web.Request, status: int) -> web.Response:
        return error_page("en", status)

    app = web.Application(middlewares=[answer_errors(english)])
    app.router.add_get("/boom", failing)
    async with client(app) as http:
        response = await http.get("/boom")
        text = await response.text()
        assert response.status == 500 and "We could not process your request" in text
        assert "camille" not in text and "Traceback" not in text and "ValueError" not in text


MALFORMED = {
    "a header over 8190 bytes": b"GET /health HTTP/1.1\r\nHost: x\r\nX-Note: " + CAMILLE.encode() * 400 + b"\r\n\r\n",
    "a method HTTP does not know": b"BREW /health HTTP/1.1\r\nHost: x\r\n\r\n",
    "a Content-Length that is no number": b"POST /intake HTTP/1.1\r\nHost: x\r\nContent-Length: camille\r\n\r\n",
    "TLS on the plain port": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,
}


@pytest.mark.parametrize("name", ["public", "admin"])
async def test_a_request_the_http_parser_refuses_gets_a_short_plain_answer_without_the_framework(name, caplog):
    # aiohttp answers these itself, before any middleware: its English parser message quoting the request, and
    # "Server: Python/3.x aiohttp/3.x". The listeners answer a short page in both languages, and log no address.
    caplog.set_level(logging.DEBUG)
    port = free_port()
    service = WebListeners([Listener(name, listeners(Bus())[name], "127.0.0.1", port)])
    await service.on_start()
    try:
        for what, request in MALFORMED.items():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), timeout=5)
            writer.close()
            head, _, text = answer.partition(b"\r\n\r\n")
            headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
            assert head.split(b"\r\n")[0].endswith(b" 400 Bad Request"), what
            assert headers[b"Server"] == b"dsr-pipeline" and b"aiohttp" not in answer, what
            assert text.decode() == "Requête invalide. / Bad request.\n", what
            assert int(headers[b"Content-Length"]) == len(text) and headers[b"X-Content-Type-Options"] == b"nosniff"
    finally:
        await service.on_stop()
    logged = [
        (r.getMessage(), r.exc_info) for r in caplog.records if r.name.startswith(("aiohttp", "streams.web.malformed"))
    ]
    assert logged and all("127.0.0.1" not in m and "camille" not in m and not exc for m, exc in logged)


def test_a_port_already_taken_is_named_in_the_error():
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        app = listeners(Bus())["admin"]
        service = WebListeners([Listener("admin", app, "127.0.0.1", taken.getsockname()[1])])
        with pytest.raises(SystemExit, match="DSR_ADMIN_PORT"):
            asyncio.run(service.on_start())
    finally:
        taken.close()


async def test_a_link_to_a_case_still_being_replayed_answers_503_with_retry_after():
    # A worker restarted under load replays the case table's changelog before it knows its cases: the person
    # who clicks then is told to try again (and a browser or proxy may), never that the link is unknown.
    from tests.streams.test_case_directory import Replaying

    bus = Bus()
    token = await verification_token(bus)
    replaying = Replaying()
    bus.directory.local.readiness = replaying
    async with client(listeners(bus)["public"]) as http:
        for response in (await http.get(f"/verify/{token}"), await http.post(f"/verify/{token}")):
            assert response.status == 503 and int(response.headers["Retry-After"]) >= 1
        replaying.done = True
        assert (await http.get(f"/verify/{token}")).status == 200
    assert confirmations(bus) == []  # the POST during the replay confirmed nothing
