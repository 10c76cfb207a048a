"""The real channel backends against real local servers: an SMS gateway and the WhatsApp Cloud API (HTTP, served
by uvicorn) and an SMTP server (aiosmtpd), including refusals, outages and retries."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from jaldpi.federation.localnet import free_port
from jaldpi.notifications import service
from jaldpi.notifications.models import NotificationOutbox
from tests.conftest import test_settings
from tests.liveserver import serve

T0 = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)


def fake_provider() -> tuple[FastAPI, list[dict], dict]:
    """An SMS gateway and a WhatsApp Cloud API in one app; ``plan["status"]`` is the next answers' HTTP status."""
    app = FastAPI()
    received: list[dict] = []
    plan = {"status": [200]}

    @app.get("/health")
    def health() -> dict:
        return {"ok": True}

    def answer(request: Request, body: dict, ok: dict) -> JSONResponse:
        received.append({"path": request.url.path, "headers": dict(request.headers), "json": body})
        status = plan["status"].pop(0) if len(plan["status"]) > 1 else plan["status"][0]
        return JSONResponse(ok if status == 200 else {"error": "refused"}, status_code=status)

    @app.post("/sms/send")
    async def sms(request: Request) -> JSONResponse:
        return answer(request, await request.json(),
                      {"status": "accepted", "data": {"message_id": f"SMS{len(received)}"}})

    @app.post("/v21.0/{phone_number_id}/messages")
    async def whatsapp(phone_number_id: str, request: Request) -> JSONResponse:
        return answer(request, await request.json(), {"messaging_product": "whatsapp",
                                                      "messages": [{"id": f"wamid.{phone_number_id}.1"}]})

    return app, received, plan


@pytest.fixture(scope="module")
def provider():
    app, received, plan = fake_provider()
    with serve(app) as base_url:
        yield base_url, received, plan


@pytest.fixture
def gateway(provider, database, tmp_path):
    base_url, received, plan = provider
    received.clear()
    plan["status"] = [200]
    settings = test_settings(
        database, notifications_dir=tmp_path,
        notification_channels={"sms": "sms_http", "whatsapp": "whatsapp_cloud", "email": "file"},
        notification_sms_url=f"{base_url}/sms/send", notification_sms_api_key="k-123",
        notification_sms_sender_id="JJMAPG", notification_sms_dlt_entity_id="1101000000000001",
        notification_sms_dlt_template_ids={"notifications_test": "1107000000000042"},
        notification_whatsapp_base_url=f"{base_url}/v21.0", notification_whatsapp_phone_number_id="10555",
        notification_whatsapp_token="wa-token", notification_max_attempts=3)
    return settings, received, plan


def queue(node, settings, channel, address, language="en", template="notifications_test"):
    with node.db.unit_of_work() as session:
        return service.queue_message(session, settings, channel=channel, address=address, template=template,
                                     context={"node": "GRV-7K3M"}, language=language)


def rows(node):
    with node.db.unit_of_work(write=False) as session:
        out = {r.id: r for r in session.execute(select(NotificationOutbox)).scalars()}
        session.expunge_all()
        return out


def test_sms_gateway_gets_the_documented_json_with_dlt_ids(node, gateway):
    settings, received, _plan = gateway
    message_id = queue(node, settings, "sms", "98765 43221", language="hi")
    assert service.dispatch_pending(node.db, settings, now=T0)["sent"] == 1
    [request] = received
    assert request["path"] == "/sms/send" and request["headers"]["authorization"] == "Bearer k-123"
    assert request["json"] == {"to": "+919876543221", "from": "JJMAPG", "text": request["json"]["text"],
                               "dlt_template_id": "1107000000000042", "dlt_entity_id": "1101000000000001"}
    assert "परीक्षण" in request["json"]["text"] and "GRV-7K3M" in request["json"]["text"]
    assert rows(node)[message_id].provider_message_id == "SMS0"  # the gateway's data.message_id


def test_sms_gateway_outage_is_retried_and_a_refusal_is_dead(node, gateway):
    settings, received, plan = gateway
    plan["status"] = [503, 200]
    first = queue(node, settings, "sms", "9876543221")
    assert service.dispatch_pending(node.db, settings, now=T0)["failed"] == 1
    assert "HTTP 503" in rows(node)[first].last_error
    assert service.dispatch_pending(node.db, settings, now=T0 + dt.timedelta(minutes=2))["sent"] == 1
    assert rows(node)[first].status == "sent" and rows(node)[first].attempts == 2
    plan["status"] = [400]  # e.g. the gateway refuses the content: no retry can help
    second = queue(node, settings, "sms", "9876543222")
    assert service.dispatch_pending(node.db, settings, now=T0 + dt.timedelta(minutes=3))["dead"] == 1
    assert rows(node)[second].status == "dead" and rows(node)[second].attempts == 1
    assert len(received) == 3


def test_an_sms_template_without_a_dlt_id_is_never_sent(node, gateway):
    settings, received, _plan = gateway
    unregistered = settings.model_copy(update={"notification_sms_dlt_template_ids": {}})
    message_id = queue(node, unregistered, "sms", "9876543221")
    assert service.dispatch_pending(node.db, unregistered, now=T0)["dead"] == 1
    assert "no DLT template id for template notifications_test" in rows(node)[message_id].last_error
    assert received == []


def test_whatsapp_cloud_api_text_message(node, gateway):
    settings, received, plan = gateway
    message_id = queue(node, settings, "whatsapp", "+91 98765 43221")
    assert service.dispatch_pending(node.db, settings, now=T0)["sent"] == 1
    [request] = received
    assert request["path"] == "/v21.0/10555/messages"
    assert request["headers"]["authorization"] == "Bearer wa-token"
    assert request["json"]["to"] == "919876543221" and request["json"]["type"] == "text"
    assert request["json"]["messaging_product"] == "whatsapp" and "GRV-7K3M" in request["json"]["text"]["body"]
    assert rows(node)[message_id].provider_message_id == "wamid.10555.1"
    plan["status"] = [429]  # rate limited: retried later, not dead
    other = queue(node, settings, "whatsapp", "9876543222")
    assert service.dispatch_pending(node.db, settings, now=T0)["failed"] == 1
    assert rows(node)[other].status == "failed"


def test_an_unreachable_gateway_is_a_transient_failure(node, database, tmp_path):
    settings = test_settings(database, notifications_dir=tmp_path, notification_channels={"sms": "sms_http"},
                             notification_sms_url=f"http://127.0.0.1:{free_port()}/sms",
                             notification_sms_dlt_template_ids={"notifications_test": "1"})
    message_id = queue(node, settings, "sms", "9876543221")
    assert service.dispatch_pending(node.db, settings, now=T0)["failed"] == 1
    assert "ConnectError" in rows(node)[message_id].last_error


# ---------------------------------------------------------------------------------------------------------- smtp

class Mailbox:
    """aiosmtpd handler: accepts mail, refuses ``nobody@`` permanently (550) and ``busy@`` transiently (451)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd API)
        if address.startswith("nobody@"):
            return f"550 5.1.1 <{address}>: no such user"
        if address.startswith("busy@"):
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
        self.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                              "message": message_from_bytes(envelope.original_content, policy=policy.default)})
        return "250 Message accepted"


@pytest.fixture
def smtp(database, tmp_path):
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = test_settings(database, notifications_dir=tmp_path, notification_channels={"email": "smtp"},
                                 notification_smtp_host="127.0.0.1", notification_smtp_port=controller.port,
                                 notification_smtp_starttls=False, notification_smtp_from="jjm@ap.gov.in",
                                 notification_max_attempts=2)
        yield settings, mailbox
    finally:
        controller.stop()


def test_email_goes_out_over_smtp_in_hindi(node, smtp):
    settings, mailbox = smtp
    message_id = queue(node, settings, "email", "Ravi@Example.ORG", language="hi")
    assert service.dispatch_pending(node.db, settings, now=T0)["sent"] == 1
    [mail] = mailbox.messages
    assert mail["from"] == "jjm@ap.gov.in" and mail["to"] == ["Ravi@example.org"]
    assert mail["message"]["Subject"] == "GRV-7K3M से jaldpi परीक्षण संदेश"
    assert "जल जीवन मिशन" in mail["message"].get_content()
    row = rows(node)[message_id]
    assert row.provider_message_id == mail["message"]["Message-ID"].strip()
    assert message_id.hex in row.provider_message_id


def test_smtp_refusals_permanent_and_transient(node, smtp):
    settings, mailbox = smtp
    dead = queue(node, settings, "email", "nobody@example.org")
    busy = queue(node, settings, "email", "busy@example.org")
    assert service.dispatch_pending(node.db, settings, now=T0) == {"claimed": 2, "sent": 0, "failed": 1, "dead": 1}
    state = rows(node)
    assert state[dead].status == "dead" and "550" in state[dead].last_error
    assert "nobody@" not in state[dead].last_error  # the address is not kept in the error
    assert state[busy].status == "failed"
    assert service.dispatch_pending(node.db, settings, now=T0 + dt.timedelta(hours=1))["dead"] == 1
    assert mailbox.messages == []


def test_starttls_required_but_not_offered_fails_without_sending(node, smtp):
    settings, mailbox = smtp
    strict = settings.model_copy(update={"notification_smtp_starttls": True})
    message_id = queue(node, strict, "email", "ravi@example.org")
    assert service.dispatch_pending(node.db, strict, now=T0)["failed"] == 1
    assert "STARTTLS" in rows(node)[message_id].last_error.upper() and mailbox.messages == []
