"""The dev SMTP sink, driven with a real SMTP client and a real HTTP client."""

from __future__ import annotations

import asyncio
import html
import threading
from email.message import EmailMessage
from pathlib import Path

import aiohttp
import aiosmtplib
import pytest

from dsr.devstack.smtp_sink import Mailbox, MailboxServer, SmtpSink

pytestmark = pytest.mark.integration

SUBJECT = "Votre demande a été reçue"
TEXT = "Bonjour Zoé,\nnous avons bien reçu votre demande d'accès.\n"
HTML = '<p>Bonjour Zoé, <a href="https://example.org/suivi?a=1&b=2">suivre</a></p>'


def make_message(subject: str = SUBJECT, to: str = "zoe@example.fr") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Protection des données <dpo@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg["Message-ID"] = "<dsr-123@example.com>"
    msg.set_content(TEXT)
    msg.add_alternative(HTML, subtype="html")
    return msg


async def send(sink: SmtpSink, msg: EmailMessage) -> None:
    await aiosmtplib.send(msg, hostname=sink.host, port=sink.port, start_tls=False, timeout=10)


@pytest.fixture
def sink():
    with SmtpSink() as running:
        yield running


@pytest.fixture
def web_server(sink):
    with MailboxServer(sink.mailbox, port=0) as running:
        yield running


async def test_stores_a_multipart_message_with_decoded_parts(sink):
    await send(sink, make_message())

    stored = await sink.mailbox.async_wait_for(lambda m: True, timeout=5)
    assert sink.port > 0
    assert stored.id == "1"
    assert stored.subject == SUBJECT
    assert stored.mail_from == "dpo@example.com"
    assert stored.rcpt_tos == ["zoe@example.fr"]
    assert stored.message_id == "<dsr-123@example.com>"
    assert stored.text == TEXT
    assert stored.html.strip() == HTML
    assert stored.received_at.tzinfo is not None
    assert b"Subject:" in stored.raw
    assert sink.mailbox.count() == 1
    assert sink.mailbox.get("1") is stored


async def test_many_messages_are_all_stored_in_order(sink):
    async with aiosmtplib.SMTP(hostname=sink.host, port=sink.port, start_tls=False) as client:
        for i in range(50):
            await client.send_message(make_message(subject=f"n°{i}"))

    last = await sink.mailbox.async_wait_for(lambda m: m.subject == "n°49", timeout=5)
    subjects = [m.subject for m in sink.mailbox.all()]
    assert subjects == [f"n°{i}" for i in range(50)]
    assert [int(m.id) for m in sink.mailbox.all()] == list(range(1, 51))
    assert last.id == "50"


async def test_fail_next_answers_451_then_accepts(sink):
    sink.fail_next(2)

    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPResponseException) as raised:
            await send(sink, make_message())
        assert raised.value.code == 451
        assert "Try again later" in raised.value.message
    await send(sink, make_message())

    assert sink.mailbox.count() == 1


async def test_fail_all_until_accept_all(sink):
    sink.fail_all(554)
    with pytest.raises(aiosmtplib.SMTPResponseException) as raised:
        await send(sink, make_message())
    assert raised.value.code == 554

    sink.fail_all()
    with pytest.raises(aiosmtplib.SMTPResponseException) as raised:
        await send(sink, make_message())
    assert raised.value.code == 451

    sink.accept_all()
    await send(sink, make_message())
    assert sink.mailbox.count() == 1


async def test_stopped_sink_refuses_connections():
    sink = SmtpSink().start()
    port = sink.port
    sink.stop()
    with pytest.raises((aiosmtplib.SMTPConnectError, OSError)):
        await aiosmtplib.send(make_message(), hostname="127.0.0.1", port=port, timeout=2)


def test_wait_for_blocks_until_a_message_arrives_from_another_thread():
    mailbox = Mailbox()
    raw = make_message().as_bytes()
    timer = threading.Timer(0.1, mailbox.add, args=("a@example.com", ["b@example.com"], raw))
    timer.start()
    try:
        found = mailbox.wait_for(lambda m: "b@example.com" in m.rcpt_tos, timeout=5)
    finally:
        timer.join()
    assert found.subject == SUBJECT


def test_wait_for_timeout_says_how_many_messages_were_seen():
    mailbox = Mailbox()
    mailbox.add("a@example.com", ["b@example.com"], make_message().as_bytes())
    with pytest.raises(TimeoutError, match="saw 1 message"):
        mailbox.wait_for(lambda m: False, timeout=0.1)


async def test_async_wait_for_timeout():
    with pytest.raises(TimeoutError, match="saw 0 message"):
        await Mailbox().async_wait_for(lambda m: True, timeout=0.05)


def test_wait_for_sees_messages_added_after_clear():
    mailbox = Mailbox()
    mailbox.add("a@example.com", ["b@example.com"], make_message().as_bytes())
    mailbox.clear()
    assert mailbox.all() == []
    added = mailbox.add("a@example.com", ["c@example.com"], make_message().as_bytes())
    assert mailbox.wait_for(lambda m: True, timeout=1) is added
    assert added.id == "2"


async def test_persistence_across_a_new_mailbox(tmp_path: Path):
    directory = tmp_path / "mail"
    with SmtpSink(Mailbox(directory)) as sink:
        await send(sink, make_message())
        await send(sink, make_message(subject="Deuxième"))
        first = sink.mailbox.get("1")

    assert sorted(p.name for p in directory.glob("*.eml")) == ["1.eml", "2.eml"]
    reloaded = Mailbox(directory)
    assert reloaded.count() == 2
    again = reloaded.get("1")
    assert again.subject == SUBJECT
    assert again.text == first.text and again.html == first.html
    assert again.raw == first.raw
    assert again.mail_from == "dpo@example.com"
    assert again.rcpt_tos == ["zoe@example.fr"]
    assert again.received_at == first.received_at
    assert reloaded.add("x@example.com", ["y@example.com"], first.raw).id == "3"

    reloaded.clear()
    assert list(directory.glob("*.eml")) == []
    assert Mailbox(directory).count() == 0


async def test_web_mailbox_pages_and_api(sink, web_server):
    await send(sink, make_message())
    await send(sink, make_message(subject="<script>x</script>", to="eve@example.com"))
    await sink.mailbox.async_wait_for(lambda m: m.id == "2", timeout=5)

    async with aiohttp.ClientSession(web_server.url) as http:
        async with http.get("/") as resp:
            assert resp.status == 200
            index = await resp.text()
        async with http.get("/messages/1") as resp:
            assert resp.status == 200
            page = await resp.text()
        async with http.get("/api/messages") as resp:
            assert resp.status == 200
            api = await resp.json()
        async with http.get("/messages/999") as resp:
            assert resp.status == 404

    assert "<script>x</script>" not in index
    assert "&lt;script&gt;x&lt;/script&gt;" in index
    assert html.escape(SUBJECT) in index or SUBJECT in index
    assert index.index("&lt;script&gt;") < index.index(SUBJECT)  # newest first
    assert 'href="/messages/1"' in index and "zoe@example.fr" in index

    assert SUBJECT in page
    assert "<pre>" in page and "nous avons bien reçu votre demande" in page
    assert "Message-ID" in page and "&lt;dsr-123@example.com&gt;" in page
    assert "<iframe sandbox=" in page
    assert 'srcdoc="&lt;base target=&quot;_blank&quot;&gt;&lt;p&gt;Bonjour Zoé' in page
    assert "suivi?a=1&amp;b=2&quot;" in page  # the e-mail HTML, escaped into the attribute

    assert [m["id"] for m in api] == ["1", "2"]
    first = api[0]
    assert first["subject"] == SUBJECT
    assert first["from"] == "dpo@example.com"
    assert first["to"] == ["zoe@example.fr"]
    assert first["message_id"] == "<dsr-123@example.com>"
    assert "nous avons bien reçu" in first["text"]
    assert first["html"].strip() == HTML
    assert first["received_at"].endswith("+00:00")


async def test_web_mailbox_delete_clears(sink, web_server):
    await send(sink, make_message())
    async with aiohttp.ClientSession(web_server.url) as http:
        async with http.delete("/api/messages") as resp:
            assert resp.status == 204
        async with http.get("/api/messages") as resp:
            assert await resp.json() == []
    assert sink.mailbox.count() == 0


def test_mailbox_server_stop_releases_the_loop():
    server = MailboxServer(Mailbox()).start()
    assert server.url.startswith("http://127.0.0.1:")
    server.stop()
    with pytest.raises(RuntimeError):
        _ = server.url


async def test_async_wait_for_does_not_block_the_loop(sink):
    waiting = asyncio.create_task(sink.mailbox.async_wait_for(lambda m: m.subject == "plus tard", timeout=5))
    await asyncio.sleep(0.05)
    assert not waiting.done()
    await send(sink, make_message(subject="plus tard"))
    assert (await waiting).subject == "plus tard"


def test_unreadable_eml_files_are_skipped(tmp_path: Path):
    Mailbox(tmp_path).add("a@example.com", ["b@example.com"], make_message().as_bytes())
    (tmp_path / "2.eml").write_bytes(b"X-Dsr-Received-At: not a date\r\n\r\nbody")
    (tmp_path / "notes.eml").write_bytes(b"not numbered, ignored")

    reloaded = Mailbox(tmp_path)
    assert [m.id for m in reloaded.all()] == ["1"]
    assert reloaded.add("a@example.com", ["b@example.com"], b"Subject: x\r\n\r\ny").id == "3"
    assert (tmp_path / "2.eml").read_bytes().startswith(b"X-Dsr-Received-At: not a date")
