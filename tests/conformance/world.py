"""The node the conformance tests run the kit against: the two-district test state, a partner system allowed to
write in state 28 (the kit's main credential) and a district official of district 745 (its narrow credential)."""

from __future__ import annotations

from jaldpi.conformance import Credential, RunOptions
from tests.helpers import build_world, make_account

PARTNER = Credential("client_credentials", "conformance-partner", "password-123")
DISTRICT_OFFICIAL = Credential("password", "district-745-official", "password-123")


def prepare(node) -> None:
    build_world(node)
    make_account(node, PARTNER.identifier, "partner_system", "state:28", kind="system", source_system="partner-mis")
    make_account(node, DISTRICT_OFFICIAL.identifier, "district_official", "district:745")


def options(base_url: str, **overrides) -> RunOptions:
    return RunOptions(**({"target": base_url, "credential": PARTNER, "narrow": DISTRICT_OFFICIAL} | overrides))


def live_test_records(node) -> list[str]:
    """Names of entities the kit left undeleted (its clean-up must leave none)."""
    from sqlalchemy import text

    with node.db.engine.connect() as conn:
        return list(conn.execute(text("SELECT name FROM entities WHERE deleted_at IS NULL")).scalars())


def credential_args(narrow: bool = True) -> list[str]:
    args = ["--client-id", PARTNER.identifier, "--client-secret", PARTNER.secret]
    if narrow:
        args += ["--narrow-username", DISTRICT_OFFICIAL.identifier, "--narrow-password", DISTRICT_OFFICIAL.secret]
    return args
