"""Channel backends: how a message leaves the node. Pluggable, registered by name.

A backend is a factory ``(settings) -> Channel``; a :class:`Channel` sends one :class:`OutgoingMessage` and returns
the provider's message id, or raises :class:`ChannelError` (``permanent=True`` when retrying cannot help: an
invalid number, content the gateway refuses). Settings map each channel (sms, whatsapp, email, ...) to a backend
(``notification_channels``), so a state swaps gateways by configuration. Shipped backends:

* ``file``: one JSON line per message in ``<notifications_dir>/<channel>.jsonl``; for development and tests (the
  address is in clear there), refused when ``JALDPI_ENV=production`` unless explicitly allowed;
* ``sms_http``: a generic Indian SMS gateway, JSON over HTTPS, with DLT sender and template ids;
* ``whatsapp_cloud``: the WhatsApp Business Cloud API (text messages);
* ``smtp``: email through an SMTP server (smtplib).

A state with another gateway registers its own with :func:`register_backend` (docs/notifications.md, "Adding a
channel").
"""

from __future__ import annotations

import json
import smtplib
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import make_msgid
from pathlib import Path
from typing import Any, Protocol

import httpx

from jaldpi import __version__
from jaldpi.core.models import utcnow


@dataclass(frozen=True)
class OutgoingMessage:
    id: uuid.UUID
    channel: str
    address: str  # normalised, in clear: only in memory, for the send
    template: str
    language: str
    subject: str | None
    body: str


class ChannelError(Exception):
    """A send that failed. ``permanent``: retrying cannot help, the message goes dead at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Channel(Protocol):
    def send(self, message: OutgoingMessage) -> str:
        """Hand the message to the provider; return its message id, or raise :class:`ChannelError`."""
        ...


_BACKENDS: dict[str, Callable[[Any], Channel]] = {}


def register_backend(name: str, factory: Callable[[Any], Channel]) -> None:
    """Make a backend available to ``notification_channels`` under ``name``."""
    _BACKENDS[name] = factory


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def build_channel(settings: Any, channel: str) -> Channel:
    """The configured backend of ``channel``; ChannelError (not permanent: configuration can be fixed) if none."""
    backend = settings.notification_channels.get(channel)
    if backend is None:
        raise ChannelError(f"channel {channel} is not configured (notification_channels)")
    factory = _BACKENDS.get(backend)
    if factory is None:
        raise ChannelError(f"unknown notification backend {backend!r} for channel {channel}; known: "
                           f"{backend_names()}")
    return factory(settings)


def _http_failure(what: str, response: httpx.Response) -> ChannelError:
    # 4xx means the provider refused this message (bad number, unregistered template): resending the same bytes
    # cannot help. 408 (timeout) and 429 (rate limit) and 5xx are the provider's trouble: retry.
    permanent = 400 <= response.status_code < 500 and response.status_code not in (408, 425, 429)
    return ChannelError(f"{what} answered HTTP {response.status_code}: {response.text[:200]}", permanent=permanent)


# ----------------------------------------------------------------------------------------------------------- file

_FILE_LOCK = threading.Lock()


class FileChannel:
    """Appends ``{"id","channel","to","template","language","subject","body","at"}`` lines to ``<channel>.jsonl``."""

    def __init__(self, settings: Any) -> None:
        if settings.env == "production" and not settings.notifications_file_in_production:
            raise ChannelError("the file notification backend writes addresses in clear and is refused when "
                               "JALDPI_ENV=production (configure notification_channels, or set "
                               "JALDPI_NOTIFICATIONS_FILE_IN_PRODUCTION=true)")
        self.directory = Path(settings.notifications_dir)

    def send(self, message: OutgoingMessage) -> str:
        line = json.dumps({"id": str(message.id), "channel": message.channel, "to": message.address,
                           "template": message.template, "language": message.language, "subject": message.subject,
                           "body": message.body, "at": utcnow().isoformat()}, ensure_ascii=False)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with _FILE_LOCK, open(self.directory / f"{message.channel}.jsonl", "a", encoding="utf-8") as out:
                out.write(line + "\n")
        except OSError as exc:
            raise ChannelError(f"cannot write {self.directory}: {exc}") from exc
        return f"file:{message.id}"


# ------------------------------------------------------------------------------------------------------ sms_http

class SmsHttpChannel:
    """A generic Indian SMS gateway: ``POST <url>`` with JSON ``{"to","from","text","dlt_template_id"}``.

    Every commercial SMS in India must carry a sender id (header) and a content template registered on a DLT
    platform (TRAI Telecom Commercial Communications Customer Preference Regulations 2018); the gateway checks the
    text against the registered template. ``to`` is the E.164 number (``+919876543210``); ``dlt_entity_id`` is
    added when configured. The provider's message id is read from the answer's ``message_id`` or ``id`` (top level
    or under ``data``). Gateways with another format: subclass and override :meth:`payload` and :meth:`message_id`.
    """

    def __init__(self, settings: Any, client: httpx.Client | None = None) -> None:
        if not settings.notification_sms_url:
            raise ChannelError("sms_http: JALDPI_NOTIFICATION_SMS_URL is not set")
        self.settings = settings
        self.client = client or httpx.Client(timeout=settings.notification_send_timeout_seconds,
                                             follow_redirects=False,
                                             headers={"User-Agent": f"jaldpi-notifications/{__version__}"})

    def payload(self, message: OutgoingMessage) -> dict[str, Any]:
        template_id = self.settings.notification_sms_dlt_template_ids.get(message.template)
        if not template_id:
            raise ChannelError(f"sms_http: no DLT template id for template {message.template} "
                               "(JALDPI_NOTIFICATION_SMS_DLT_TEMPLATE_IDS)", permanent=True)
        body = {"to": message.address, "from": self.settings.notification_sms_sender_id, "text": message.body,
                "dlt_template_id": template_id}
        if self.settings.notification_sms_dlt_entity_id:
            body["dlt_entity_id"] = self.settings.notification_sms_dlt_entity_id
        return body

    def headers(self) -> dict[str, str]:
        key = self.settings.notification_sms_api_key
        if not key:
            return {}
        header = self.settings.notification_sms_api_key_header
        return {header: f"Bearer {key}" if header.lower() == "authorization" else key}

    @staticmethod
    def message_id(answer: Any) -> str | None:
        if isinstance(answer, dict):
            for scope in (answer, answer.get("data")):
                if isinstance(scope, dict):
                    for key in ("message_id", "messageId", "id"):
                        if scope.get(key) not in (None, ""):
                            return str(scope[key])
        return None

    def send(self, message: OutgoingMessage) -> str:
        try:
            response = self.client.post(self.settings.notification_sms_url, json=self.payload(message),
                                        headers=self.headers())
        except httpx.HTTPError as exc:
            raise ChannelError(f"sms_http: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise _http_failure("sms gateway", response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return self.message_id(answer) or f"sms_http:{message.id}"

    def close(self) -> None:
        self.client.close()


# ------------------------------------------------------------------------------------------------ whatsapp_cloud

class WhatsAppCloudChannel:
    """WhatsApp Business Cloud API: ``POST {base_url}/{phone_number_id}/messages`` with a bearer token.

    Sends a text message ``{"messaging_product": "whatsapp", "to": "919876543210", "type": "text", "text":
    {"body": ...}}`` and returns ``messages[0].id``. WhatsApp lets a business send free text only within 24 hours of
    the user's last message; outside that window Meta requires a pre-approved template (a later backend).
    """

    def __init__(self, settings: Any, client: httpx.Client | None = None) -> None:
        if not settings.notification_whatsapp_phone_number_id or not settings.notification_whatsapp_token:
            raise ChannelError("whatsapp_cloud: JALDPI_NOTIFICATION_WHATSAPP_PHONE_NUMBER_ID and "
                               "JALDPI_NOTIFICATION_WHATSAPP_TOKEN must be set")
        self.url = (f"{settings.notification_whatsapp_base_url.rstrip('/')}/"
                    f"{settings.notification_whatsapp_phone_number_id}/messages")
        self.client = client or httpx.Client(
            timeout=settings.notification_send_timeout_seconds, follow_redirects=False,
            headers={"User-Agent": f"jaldpi-notifications/{__version__}",
                     "Authorization": f"Bearer {settings.notification_whatsapp_token}"})

    def send(self, message: OutgoingMessage) -> str:
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": message.address.lstrip("+"),
                "type": "text", "text": {"preview_url": False, "body": message.body}}
        try:
            response = self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise ChannelError(f"whatsapp_cloud: {type(exc).__name__}: {exc}") from exc
        if not 200 <= response.status_code < 300:
            raise _http_failure("WhatsApp Cloud API", response)
        try:
            return str(response.json()["messages"][0]["id"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise ChannelError(f"whatsapp_cloud: unexpected answer {response.text[:200]}") from exc

    def close(self) -> None:
        self.client.close()


# ---------------------------------------------------------------------------------------------------------- smtp

class SmtpChannel:
    """Email through an SMTP server: plain text, UTF-8 (Hindi goes through unchanged), one connection per message."""

    def __init__(self, settings: Any) -> None:
        if not settings.notification_smtp_host:
            raise ChannelError("smtp: JALDPI_NOTIFICATION_SMTP_HOST is not set")
        self.settings = settings

    def send(self, message: OutgoingMessage) -> str:
        s = self.settings
        # The legacy MIMEText + Header API on purpose: the newer EmailMessage folds a long Hindi subject into
        # encoded words and drops the space at the fold (CPython 3.11), so "परीक्षण संदेश" arrived as one word.
        email = MIMEText(message.body, "plain", "utf-8")
        email["From"] = s.notification_smtp_from
        email["To"] = message.address
        email["Subject"] = Header(message.subject or "Jal Jeevan Mission", "utf-8")
        domain = s.notification_smtp_from.rpartition("@")[2] or None
        email["Message-ID"] = make_msgid(idstring=message.id.hex, domain=domain)
        try:
            if s.notification_smtp_ssl:
                server: smtplib.SMTP = smtplib.SMTP_SSL(s.notification_smtp_host, s.notification_smtp_port,
                                                        timeout=s.notification_send_timeout_seconds,
                                                        context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(s.notification_smtp_host, s.notification_smtp_port,
                                      timeout=s.notification_send_timeout_seconds)
            with server:
                if s.notification_smtp_starttls and not s.notification_smtp_ssl:
                    server.starttls(context=ssl.create_default_context())
                if s.notification_smtp_user:
                    server.login(s.notification_smtp_user, s.notification_smtp_password or "")
                refused = server.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise ChannelError(f"smtp: recipient refused: {_codes(exc.recipients)}",
                               permanent=_permanent(exc.recipients)) from exc
        except smtplib.SMTPResponseException as exc:
            # 5xx is a permanent refusal (RFC 5321 section 4.2.1), 4xx a transient one
            raise ChannelError(f"smtp: {exc.smtp_code} {exc.smtp_error!r}"[:400],
                               permanent=500 <= exc.smtp_code < 600) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise ChannelError(f"smtp: {type(exc).__name__}: {exc}") from exc
        if refused:
            raise ChannelError(f"smtp: recipient refused: {_codes(refused)}", permanent=_permanent(refused))
        return email["Message-ID"]


def _permanent(recipients: dict) -> bool:
    """5xx replies are permanent refusals, 4xx transient ones (RFC 5321 section 4.2.1)."""
    return all(500 <= code < 600 for code, _text in recipients.values())


def _codes(recipients: dict) -> str:
    # the refused address is personal data: report only the server's codes
    return ", ".join(str(code) for code, _text in recipients.values())


register_backend("file", FileChannel)
register_backend("sms_http", SmsHttpChannel)
register_backend("whatsapp_cloud", WhatsAppCloudChannel)
register_backend("smtp", SmtpChannel)
