"""The canary test of issue 6: personal data planted in a sandbox node (names, phone numbers, identity references,
committee members, sample collectors, account names) appears in no open dataset, no download, no public or
officials' page, no open-data API answer and no log line.

It walks everything a citizen, a researcher or an official can reach: every Citizen Corner page (both languages),
every open-data route and download in every format, the officials' dashboard, with logging captured at DEBUG.
A complaint is filed through the Citizen Corner's form with a planted name and phone, and another through the SMS
gateway webhook from a planted number: the crawl also reads their tracking pages, the public grievance API and the
Open311 answers, and a release built after them.
Personal data must stay where it belongs (the encrypted store, read only by roles with pii:read through the
registry API), which the last assertion checks so that the test cannot pass by planting nothing.
"""

from __future__ import annotations

import logging
import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from jaldpi.app import create_app
from jaldpi.core.registry import Strategy
from jaldpi.opendata.build import build_release
from jaldpi.sandbox.generate import Scale, generate
from jaldpi.sandbox.lgd import SEED_DIR
from tests.conftest import test_settings
from tests.helpers import ROOT, login_as, make_account

TINY = Scale("tiny", "one", (2, 3), (1, 2), (4, 8))
NAME, PHONE, RATION = "Vexmorila Canarytha", "9801236547", "RC-CANARY-90210"
AADHAAR = "499118665246"  # passes the Verhoeff check (a valid-looking identity number)
MEMBER, COLLECTOR, OFFICIAL = "Quorindel Canaryson", "collector.canary.77", "Canaryvati Official"
COMPLAINANT, SMS_PHONE = "Trelquinda Canarywal", "9701236548"
NEEDLES = (NAME, "Vexmorila", PHONE, RATION, AADHAAR, MEMBER, COLLECTOR, OFFICIAL, "Canaryvati", COMPLAINANT,
           "Trelquinda", SMS_PHONE)
GATEWAY_TOKEN = "canary-gateway-token"


def plant(node) -> int:
    """Canaries in every kind of personal field the node holds; returns the canary village's LGD code."""
    from jaldpi.admin_units.models import AdminUnit
    from jaldpi.water_quality.models import Sample

    with node.db.unit_of_work(write=False) as session:
        village = session.execute(select(AdminUnit.lgd_code).where(AdminUnit.level == "village")
                                  .order_by(AdminUnit.lgd_code).limit(1)).scalar_one()
        sample = session.execute(select(Sample.id).limit(1)).scalar()
    households = [{"village": village, "members_count": 4, "has_tap_connection": True, "head_name": NAME,
                   "phone": PHONE, "ration_card": RATION} for _ in range(12)]
    households[0]["aadhaar"] = AADHAAR
    with node.db.unit_of_work() as session:
        for registry, items in (
                ("households", households),
                ("entities", [{"entity_type": "vwsc", "name": "Canary VWSC", "admin_unit": {"code": f"LGD-V{village}"},
                               "members": [{"name": MEMBER, "gender": "female", "role": "member"}]}])):
            summary = node.catalogue[registry].import_records(session, ROOT, items, strategy=Strategy.create)
            assert summary.status == "ok", [r.errors for r in summary.rows]
        if sample is not None:
            summary = node.catalogue["samples"].import_records(
                session, ROOT, [{"id": str(sample), "collected_by": COLLECTOR}], strategy=Strategy.update)
            assert summary.status == "ok", summary.to_dict()
    make_account(node, "canary.official", "district_official", "/", kind="person")
    from jaldpi.accounts.models import Account

    with node.db.unit_of_work() as session:
        account = session.execute(select(Account).where(Account.username == "canary.official")).scalar_one()
        account.display_name = OFFICIAL
    return village


def file_complaints(client: TestClient, village: int) -> list[str]:
    """A complaint through the Citizen Corner's form (name and phone planted) and one by SMS (planted sender);
    returns their references."""
    form = client.get(f"/citizen/village/{village}/report")
    csrf = unescape(re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1))
    done = client.post(f"/citizen/village/{village}/report", data={
        "csrf_token": csrf, "category": "no_water", "description": "No water in the lane since two days",
        "phone": PHONE, "name": COMPLAINANT})
    assert done.status_code == 201, done.text
    references = [re.search(r'<b id="grievance-reference">([^<]+)</b>', done.text).group(1)]
    sms = client.post("/sms/v1/inbound", headers={"X-Gateway-Token": GATEWAY_TOKEN},
                      json={"from": "+91" + SMS_PHONE, "text": f"JAL {village} LEAK pipe broken near the well",
                            "message_id": "canary-sms-1"})
    assert sms.status_code == 200, sms.text
    with client.app.state.node.db.unit_of_work(write=False) as session:
        from jaldpi.grievances.models import Grievance

        references += [code for (code,) in session.execute(select(Grievance.code).where(Grievance.channel == "sms"))]
    assert len(references) == 2, references
    return references


def links(html: str) -> set[str]:
    return {unescape(h) for h in re.findall(r'href="(/[^"#]*)"', html)}


def test_no_canary_in_any_dataset_download_page_or_log(database, tmp_path, caplog):
    settings = test_settings(database, opendata_dir=tmp_path / "opendata", opendata_dp_seed=1,
                             sms_gateway_token=GATEWAY_TOKEN)
    app = create_app(settings, database)
    node = app.state.node
    generate(node.db, node.catalogue, seed=5, scale=TINY, lgd_dir=SEED_DIR)
    village = plant(node)
    client = TestClient(app)
    seen: dict[str, bytes] = {}

    def fetch(path: str, headers: dict | None = None) -> bytes:
        response = client.get(path, headers=headers or {})
        assert response.status_code in (200, 304), (path, response.status_code, response.text[:300])
        seen[path] = response.content
        return response.content

    with caplog.at_level(logging.DEBUG):
        references = file_complaints(client, village)
        release = build_release(node.db, settings)
        # Citizen Corner: crawl from the home page in both languages (every link on every page, within /citizen/)
        for lang in ("en", "hi"):
            queue = [f"/citizen/?lang={lang}", f"/citizen/village/{village}?lang={lang}",
                     f"/citizen/villages?q={str(village)[:3]}&lang={lang}",
                     *(f"/citizen/grievances/track?ref={ref}&lang={lang}" for ref in references)]
            done: set[str] = set()
            while queue:
                path = queue.pop()
                if path in done or len(done) > 400:
                    continue
                done.add(path)
                body = fetch(path)
                if not body.lstrip().startswith((b"<!doctype", b"<!DOCTYPE", b"<html")):
                    continue  # a download (CSV, Parquet, JSON): checked below, no links to follow
                for link in links(body.decode()):
                    if link.startswith(("/citizen/", "/opendata/")) and "/static/" not in link:
                        queue.append(link)
        # open data: every route, every dataset, every format, every page of rows
        fetch("/opendata/v1/")
        fetch("/opendata/v1/catalog.jsonld")
        for name in release.dataset_names:
            fetch(f"/opendata/v1/datasets/{name}")
            for fmt in ("csv", "parquet", "datapackage") + (("geojson",) if (release.directory / name /
                                                                              f"{name}.geojson").exists() else ()):
                fetch(f"/opendata/v1/datasets/{name}/download/{fmt}")
            cursor = None
            while True:
                page = client.get(f"/opendata/v1/datasets/{name}/rows", params={"limit": 500, **(
                    {"after": cursor} if cursor else {})})
                assert page.status_code == 200, page.text
                seen[f"rows:{name}:{cursor}"] = page.content
                cursor = page.json().get("next_cursor")
                if not cursor:
                    break
        # the public grievance API and Open311 (anonymous)
        for ref in references:
            fetch(f"/api/v1/public/grievances/{ref}")
            fetch(f"/open311/v2/requests/{ref}.json")
        fetch("/open311/v2/requests.json")
        # the officials' dashboard, as an official of the whole state (sees real counts, never personal data)
        headers = login_as(client, node, "canary.reader", "state_official", "/")
        form = client.get("/officials/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        login = client.post("/officials/login", data={"username": "canary.reader", "password": "password-123",
                                                      "csrf_token": unescape(csrf)}, follow_redirects=True)
        assert login.status_code == 200 and str(login.url).split("?")[0].endswith("/officials/"), login.url
        assert "canary.reader" in login.text  # signed in: the dashboard names the official
        seen["officials"] = login.content
        seen["officials-hi"] = fetch("/officials/?lang=hi")

    files = {str(p): p.read_bytes() for p in release.directory.rglob("*") if p.is_file()}
    assert len(seen) > 30 and files
    for where, content in [*seen.items(), *files.items(), ("log", caplog.text.encode())]:
        for needle in NEEDLES:
            assert needle.encode() not in content, f"{needle!r} leaked into {where}"
    # ... and the canaries are really there, in the place personal data belongs
    people = client.get("/api/v1/households", params={"within": f"village:{village}", "limit": 50},
                        headers=headers)
    assert people.status_code == 200 and NAME in people.text
    # ... and the complainants' name and phones are stored, encrypted, beside their grievances
    from jaldpi.grievances.models import GrievanceContact

    with node.db.unit_of_work(write=False) as session:
        stored = [row.ciphertext for row in session.execute(select(GrievanceContact.ciphertext))]
    assert len(stored) == 2 and all(stored)
    assert not any(needle.encode() in blob for blob in stored for needle in (COMPLAINANT, PHONE, SMS_PHONE))
