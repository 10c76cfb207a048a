"""Demo notifications for the sandbox (`jaldpi demo`): contacts for a few staff accounts and a few queued messages.

Contacts are email addresses at ``example.org`` (reserved for examples by RFC 2606: they reach nobody) and, only
while the sms channel goes to the file backend, made-up mobile numbers: a demo must never text a real person
through a real gateway. Messages are the ``notifications_test`` template sent with :func:`notify_role` to the
village operators of a few villages, so the outbox has something to show; `jaldpi notifications dispatch` sends
them (to ``var/notifications/*.jsonl`` with the default file backend). Running it twice adds nothing.
"""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from jaldpi.accounts.models import Account, AccountGrant
from jaldpi.admin_units.models import AdminUnit
from jaldpi.notifications.models import NotificationContact, NotificationOutbox
from jaldpi.notifications.service import add_contact, notify_role

ROLES = ("vwsc_operator", "block_official", "district_official")
ACCOUNTS_PER_ROLE = 3
VILLAGES = 3  # villages whose operators get a demo message
SUBJECT_TYPE = "sandbox"


def seed_demo(node: Any, *, seed: int = 7) -> dict[str, int]:
    """Add demo contacts and queue demo messages; returns ``{"contacts": n, "messages": m}`` (what was added)."""
    from jaldpi.sandbox.generate import generator_principal

    rng = random.Random(seed)
    settings = node.settings
    principal = generator_principal()
    phones = settings.notification_channels.get("sms") == "file"
    added = {"contacts": 0, "messages": 0}
    with node.db.unit_of_work() as session:
        accounts = session.execute(
            select(Account.id, Account.username, AccountGrant.role)
            .join(AccountGrant, AccountGrant.account_id == Account.id)
            .where(AccountGrant.role.in_(ROLES), Account.active.is_(True), Account.kind == "person")
            .order_by(Account.username)).all()
        having = set(session.execute(select(NotificationContact.account_id)).scalars())
        per_role: dict[str, int] = {}
        for account_id, username, role in accounts:
            if per_role.get(role, 0) >= ACCOUNTS_PER_ROLE or account_id in having:
                continue
            per_role[role] = per_role.get(role, 0) + 1
            having.add(account_id)
            language = "hi" if rng.random() < 0.6 else "en"
            add_contact(session, settings, principal, account=username, channel="email",
                        address=f"{username.replace('_', '.')}@example.org", language=language)
            added["contacts"] += 1
            if phones:
                add_contact(session, settings, principal, account=username, channel="sms",
                            address=f"9{rng.randrange(10**8, 10**9)}", language=language)
                added["contacts"] += 1
        if session.execute(select(NotificationOutbox.id).where(NotificationOutbox.subject_type == SUBJECT_TYPE)
                           .limit(1)).first() is None:
            operator_paths = sorted(set(session.execute(
                select(AccountGrant.lgd_path).where(AccountGrant.role == "vwsc_operator")).scalars()))
            for path in operator_paths:
                villages = session.execute(
                    select(AdminUnit.lgd_path, AdminUnit.lgd_code)
                    .where(AdminUnit.level == "village", AdminUnit.lgd_path.startswith(path, autoescape=True),
                           AdminUnit.deleted_at.is_(None))
                    .order_by(AdminUnit.lgd_code).limit(VILLAGES)).all()
                for village_path, lgd_code in villages:
                    added["messages"] += notify_role(
                        session, settings, role="vwsc_operator", lgd_path=village_path,
                        template="notifications_test", context={"node": settings.node_id},
                        subject_type=SUBJECT_TYPE, subject_id=f"village-{lgd_code}")
                if added["messages"]:
                    break
    return added
