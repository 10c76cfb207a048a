"""notify_role: the nearest holders of a role over a place, one message per contact, in the contact's language."""

from __future__ import annotations

import pytest

from jaldpi.core.errors import ValidationFailed
from jaldpi.notifications import service
from jaldpi.notifications.testing import sent_messages
from tests.helpers import ROOT

PATH_A1 = "/S28/D745/B4001/G200001/V500001/"
PATH_A2 = "/S28/D745/B4001/G200001/V500002/"


def add_contacts(node, settings, contacts: list[tuple[str, str, str, str]]) -> None:
    with node.db.unit_of_work() as session:
        for username, channel, address, language in contacts:
            service.add_contact(session, settings, ROOT, account=username, channel=channel, address=address,
                                language=language)


def notify(node, settings, role: str, path: str, **kw) -> int:
    with node.db.unit_of_work() as session:
        return service.notify_role(session, settings, role=role, lgd_path=path, template="notifications_test",
                                   context={"node": "ticket BRK-1"}, subject_type="breakdown_tickets",
                                   subject_id="BRK-1", **kw)


def test_the_village_operator_is_notified_in_their_language(node, nsettings, staff):
    add_contacts(node, nsettings, [("op-a1", "sms", "9876500001", "hi"), ("op-a1", "email", "op@example.org", "en"),
                                   ("op-a4", "sms", "9876500004", "en")])
    assert notify(node, nsettings, "vwsc_operator", PATH_A1) == 2
    service.dispatch_pending(node.db, nsettings)
    [sms] = sent_messages(nsettings, "sms")
    [email] = sent_messages(nsettings, "email")
    assert sms["to"] == "+919876500001" and sms["language"] == "hi" and "BRK-1" in sms["body"]
    assert "परीक्षण" in sms["subject"] and email["language"] == "en" and email["to"] == "op@example.org"


def test_nearest_only_picks_the_deepest_grant_and_all_climbs_the_tree(node, nsettings, staff):
    add_contacts(node, nsettings, [("block-eng", "sms", "9876500010", "en"),
                                   ("district-eng-2", "sms", "9876500020", "en")])
    # block_official over block 4001 and over district 745: the block's engineer is nearer to the village
    assert notify(node, nsettings, "block_official", PATH_A1) == 1
    assert notify(node, nsettings, "block_official", PATH_A1, nearest_only=False) == 2
    # village 500004 is in block 4003: only the district-wide grant covers it
    assert notify(node, nsettings, "block_official", "/S28/D745/B4003/G200003/V500004/") == 1
    service.dispatch_pending(node.db, nsettings)
    sent = [m["to"] for m in sent_messages(nsettings, "sms")]
    assert sorted(sent) == sorted(["+919876500010", "+919876500010", "+919876500020", "+919876500020"])


def test_no_holder_or_no_contact_queues_nothing_and_logs_no_personal_data(node, nsettings, staff, caplog):
    caplog.set_level("INFO", logger="jaldpi.notifications")
    assert notify(node, nsettings, "vwsc_operator", PATH_A2) == 0  # nobody holds it over village 500002
    assert notify(node, nsettings, "vwsc_operator", PATH_A1) == 0  # op-a1 has no contact on file
    assert "none has a contact on file" in caplog.text and "op-a1" not in caplog.text


def test_inactive_accounts_are_skipped(node, nsettings, staff):
    from sqlalchemy import update

    from jaldpi.accounts.models import Account

    add_contacts(node, nsettings, [("op-a1", "sms", "9876500001", "en")])
    with node.db.unit_of_work() as session:
        session.execute(update(Account).where(Account.username == "op-a1").values(active=False))
    assert notify(node, nsettings, "vwsc_operator", PATH_A1) == 0


def test_unknown_role_is_refused(node, nsettings):
    with pytest.raises(ValidationFailed) as caught, node.db.unit_of_work() as session:
        service.notify_role(session, nsettings, role="wizard", lgd_path=PATH_A1, template="notifications_test",
                            context={"node": "x"})
    assert caught.value.details[0]["field"] == "role"


def test_grant_paths_above():
    assert service.grant_paths_above("/S28/D745/") == ["/", "/S28/", "/S28/D745/"]
