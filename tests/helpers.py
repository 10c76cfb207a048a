"""Small builders shared by tests: a two-district state, accounts and tokens."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient

from jaldpi.accounts.service import GrantSpec, create_account
from jaldpi.core.registry import Strategy
from jaldpi.core.security import ANONYMOUS, Grant, Principal
from jaldpi.standard.codelists import role_permissions

ROOT = Principal("test-root", "person", (Grant("node_admin", "/"),), role_permissions())


@dataclass
class World:
    """State 28 with districts 745 (blocks 4001 and 4003) and 746 (block 4002); one GP per block; villages
    500001 and 500002 in block 4001, 500004 in block 4003, 500003 in district 746."""

    ids: dict[str, str]


UNITS = [
    {"level": "state", "lgd_code": 28, "name": "Andhra Pradesh", "census2011_code": "28"},
    {"level": "district", "lgd_code": 745, "name": "Alpha", "parent": 28},
    {"level": "district", "lgd_code": 746, "name": "Beta", "parent": 28},
    {"level": "block", "lgd_code": 4001, "name": "Alpha Block", "parent": {"code": "LGD-D745"}},
    {"level": "block", "lgd_code": 4002, "name": "Beta Block", "parent": {"code": "LGD-D746"}},
    {"level": "gram_panchayat", "lgd_code": 200001, "name": "Alpha GP", "parent": {"code": "LGD-B4001"}},
    {"level": "gram_panchayat", "lgd_code": 200002, "name": "Beta GP", "parent": {"code": "LGD-B4002"}},
    {"level": "village", "lgd_code": 500001, "name": "Alpha One", "parent": {"code": "LGD-G200001"}},
    {"level": "village", "lgd_code": 500002, "name": "Alpha Two", "parent": {"code": "LGD-G200001"}},
    {"level": "village", "lgd_code": 500003, "name": "Beta One", "parent": {"code": "LGD-G200002"}},
    {"level": "block", "lgd_code": 4003, "name": "Alpha East Block", "parent": {"code": "LGD-D745"}},
    {"level": "gram_panchayat", "lgd_code": 200003, "name": "Alpha East GP", "parent": {"code": "LGD-B4003"}},
    {"level": "village", "lgd_code": 500004, "name": "Alpha East One", "parent": {"code": "LGD-G200003"}},
]


def build_world(node) -> World:
    registry = node.catalogue["admin_units"]
    ids = {}
    with node.db.unit_of_work() as session:
        summary = registry.import_records(session, ROOT, UNITS, strategy=Strategy.create)
        assert summary.status == "ok", summary.to_dict()
        for row in summary.rows:
            ids[row.code] = str(row.id)
    return World(ids)


# Registries whose records belong to a district (admin_units are the public directory).
REGISTRIES = ("entities", "natural_resources", "households", "schemes", "components")

# Where build_records puts one record of each registry: tag -> village LGD code.
PLACES = {"a1": 500001, "a4": 500004, "b3": 500003}


def record_payload(registry: str, village: int, tag: str) -> dict:
    """A valid input record of ``registry`` in ``village``; searchable by ``tag``, external id test=<registry>-<tag>.

    A component hangs on the scheme with the same tag (referenced by that scheme's external id).
    """
    ext = {"external_ids": {"test": f"{registry}-{tag}"}}
    if registry == "entities":
        return {"entity_type": "vwsc", "name": f"VWSC {tag}", "admin_unit": village, **ext}
    if registry == "natural_resources":
        return {"resource_type": "water_source", "source_type": "borewell", "name": f"Borewell {tag}",
                "admin_unit": village, **ext}
    if registry == "households":
        return {"village": village, "members_count": 4, "head_name": f"Kamala {tag.upper()} Devi",
                "phone": f"98765{village % 100000:05d}", **ext}
    if registry == "schemes":
        return {"name": f"Scheme {tag}", "scheme_type": "svs", "villages": [village], **ext}
    if registry == "components":
        return {"scheme": {"external_id": {"system": "test", "value": f"schemes-{tag}"}}, "component_type": "esr",
                "name": f"ESR {tag}", **ext}
    raise KeyError(registry)


def build_records(node, places: dict[str, int] | None = None,
                  registries: tuple[str, ...] = REGISTRIES) -> dict[str, dict[str, dict[str, str]]]:
    """One record of each registry at each place (written as ROOT through the one write path).

    Returns ``{registry: {tag: {"id", "code", "external_id"}}}``.
    """
    places = places or PLACES
    out: dict[str, dict[str, dict[str, str]]] = {}
    wanted = set(registries)
    if "components" in wanted:
        wanted.add("schemes")
    with node.db.unit_of_work() as session:
        for name in REGISTRIES:
            if name not in wanted:
                continue
            items = [record_payload(name, village, tag) for tag, village in places.items()]
            summary = node.catalogue[name].import_records(session, ROOT, items, strategy=Strategy.create)
            assert summary.status == "ok", summary.to_dict()
            out[name] = {tag: {"id": str(row.id), "code": row.code, "external_id": f"{name}-{tag}"}
                         for tag, row in zip(places, summary.rows, strict=True)}
    return out


def make_account(node, username: str, role: str, within: str, kind: str = "person",
                 source_system: str | None = None) -> str:
    with node.db.unit_of_work() as session:
        create_account(session, node.passwords, username=username, secret="password-123", kind=kind,
                       display_name=username, grants=[GrantSpec(role, within)], source_system=source_system)
    return username


def token(client: TestClient, username: str, kind: str = "person") -> dict[str, str]:
    if kind == "person":
        form = {"grant_type": "password", "username": username, "password": "password-123"}
    else:
        form = {"grant_type": "client_credentials", "client_id": username, "client_secret": "password-123"}
    response = client.post("/api/v1/auth/token", data=form)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def login_as(client: TestClient, node, username: str, role: str, within: str, kind: str = "person",
             source_system: str | None = None) -> dict[str, str]:
    make_account(node, username, role, within, kind, source_system)
    return token(client, username, kind)


def count_rows(node, table: str) -> int:
    from sqlalchemy import text

    with node.db.engine.connect() as conn:
        return conn.execute(text(f'SELECT COUNT(*) FROM "{table}"')).scalar_one()


def error_of(response) -> dict:
    """The error object of a response, after checking the one error shape of the API."""
    body = response.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "details"}, err
    assert isinstance(err["code"], str) and err["code"]
    assert isinstance(err["message"], str) and err["message"]
    assert isinstance(err["details"], list)
    for d in err["details"]:
        assert "field" in d and "problem" in d, d
    return err


__all__ = ["ANONYMOUS", "PLACES", "REGISTRIES", "ROOT", "World", "build_records", "build_world", "count_rows",
           "error_of", "login_as", "make_account", "record_payload", "token"]
