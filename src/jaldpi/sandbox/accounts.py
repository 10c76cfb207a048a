"""Demo accounts of the sandbox: one per role of the code list, each bound to a sandbox jurisdiction.

Passwords are ``demo-<role>``: for a local sandbox only, never for a node holding real data.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jaldpi.accounts.models import Account
from jaldpi.accounts.service import GrantSpec, create_account
from jaldpi.core.security import Passwords
from jaldpi.standard.codelists import codes


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str
    within: str
    kind: str = "person"
    note: str = ""


def demo_accounts(state_code: int, sample: dict[str, int]) -> list[DemoAccount]:
    """The demo accounts for a sandbox whose sample units are ``sample`` (district, block, gram_panchayat, village)."""
    d, b, g, v = sample["district"], sample["block"], sample["gram_panchayat"], sample["village"]
    spec = [
        ("node_admin", "/", "whole node, personal data, user management"),
        ("national_official", "/", "whole country, no personal data"),
        ("state_official", f"state:{state_code}", "the state"),
        ("district_official", f"district:{d}", "one district"),
        ("block_official", f"block:{b}", "one block"),
        ("vwsc_operator", f"gram_panchayat:{g}", "one gram panchayat"),
        ("lab_analyst", f"district:{d}", "the district lab's area"),
        ("field_tester", f"village:{v}", "one village"),
        ("citizen", "/", "public directory"),
    ]
    out = [DemoAccount(role, f"demo-{role}", role, within, note=note) for role, within, note in spec]
    out.append(DemoAccount("partner_system", "demo-partner_system", "partner_system", f"state:{state_code}",
                           kind="system", note="a state system (client credentials)"))
    known = set(codes("roles"))
    return [a for a in out if a.role in known]


def ensure_demo_accounts(session: Session, passwords: Passwords, accounts: list[DemoAccount]) -> dict[str, str]:
    """Create the accounts that do not exist yet; returns ``{username: "created" | "exists"}`` (idempotent)."""
    existing = set(session.execute(select(Account.username).where(
        Account.username.in_([a.username for a in accounts]))).scalars())
    status = {}
    for a in accounts:
        if a.username in existing:
            status[a.username] = "exists"
            continue
        create_account(session, passwords, username=a.username, secret=a.password, kind=a.kind,
                       display_name=f"Demo {a.role.replace('_', ' ')}", grants=[GrantSpec(a.role, a.within)],
                       source_system="sandbox-partner" if a.kind == "system" else None)
        status[a.username] = "created"
    return status
