"""The sandbox seed: demo contacts and messages, written through the service, idempotent."""

from __future__ import annotations

from sqlalchemy import func, select

from jaldpi.notifications import service
from jaldpi.notifications.models import NotificationContact, NotificationOutbox
from jaldpi.notifications.sandbox import seed_demo
from jaldpi.notifications.testing import sent_messages
from tests.helpers import build_records, make_account


def test_seed_demo_adds_contacts_and_messages_once(node, world, nsettings, monkeypatch):
    monkeypatch.setattr(node, "settings", nsettings)
    build_records(node, registries=("entities",))
    make_account(node, "vwsc_operator", "vwsc_operator", "gram_panchayat:200001")
    make_account(node, "block_official", "block_official", "block:4001")
    counts = seed_demo(node)
    assert counts == {"contacts": 4, "messages": 4}  # 2 accounts x (email + sms); 2 villages x 2 contacts
    again = seed_demo(node)
    assert again == {"contacts": 0, "messages": 0}
    with node.db.unit_of_work(write=False) as session:
        assert session.execute(select(func.count()).select_from(NotificationContact)).scalar_one() == 4
        paths = sorted(session.execute(select(NotificationOutbox.lgd_path)).scalars())
    assert paths[0].endswith("/V500001/") and paths[-1].endswith("/V500002/")
    assert service.dispatch_pending(node.db, nsettings)["sent"] == 4
    emails = sent_messages(nsettings, "email")
    assert {m["to"] for m in emails} == {"vwsc.operator@example.org"}


def test_seed_demo_uses_no_phone_numbers_with_a_real_sms_gateway(node, world, nsettings, monkeypatch):
    real = nsettings.model_copy(update={"notification_channels": {"sms": "sms_http", "email": "file",
                                                                  "whatsapp": "file"}})
    monkeypatch.setattr(node, "settings", real)
    make_account(node, "vwsc_operator", "vwsc_operator", "gram_panchayat:200001")
    assert seed_demo(node) == {"contacts": 1, "messages": 2}
    with node.db.unit_of_work(write=False) as session:
        assert set(session.execute(select(NotificationContact.channel)).scalars()) == {"email"}
