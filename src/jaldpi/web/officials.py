"""Officials' pages: sign in on the web, and one dashboard scoped by the official's grants.

Sign-in reuses the node's accounts (people, argon2 hashes) and its JWT: the token the API hands out as a Bearer
token is kept here in an HttpOnly, SameSite=Lax cookie (Secure when ``JALDPI_ENV=production``), and the
``Principal`` is built from it exactly as ``core.api.current_principal`` builds it from the header. The API's Bearer
path does not read this cookie: a page cannot be tricked into writing through the API.

CSRF protection of the POST forms (sign in, sign out) is a **signed double-submit token** plus an **origin check**:

* the form page sets a cookie ``jaldpi_csrf`` = ``<nonce>.<HMAC-SHA256(secret_key, nonce)>`` and puts the same value
  in a hidden field; a POST is accepted only when the field equals the cookie and the signature verifies (another
  site can neither read the cookie nor forge a signed one);
* when the browser sends ``Origin`` (all current browsers do on POST), it must be this node's own origin;
* the session cookie is ``SameSite=Lax``, so it is not sent on cross-site POSTs at all.

The dashboard shows unsuppressed figures (officials see their own jurisdiction in full) but never personal data:
only counts, place names and record codes. Each panel comes from the domain services the API uses and links to the
API endpoint that gives the same figures in JSON.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from jaldpi.accounts.service import authenticate, grants_of
from jaldpi.admin_units.models import AdminUnit
from jaldpi.admin_units.service import unit_path
from jaldpi.assets.models import Component
from jaldpi.core.api import node_of
from jaldpi.core.errors import Unauthenticated, ValidationFailed
from jaldpi.core.security import Grant, Principal, issue_token, read_token, scope_clause
from jaldpi.core.workflow_models import WorkflowCase
from jaldpi.people.models import Household
from jaldpi.service_delivery import service as service_levels
from jaldpi.water_quality import service as water_quality
from jaldpi.water_quality.workflows import REMEDIAL_ACTION
from jaldpi.web.rendering import render

router = APIRouter(prefix="/officials", include_in_schema=False)

SESSION_COOKIE = "jaldpi_official"
CSRF_COOKIE = "jaldpi_csrf"
FUNCTIONALITY_WINDOW_DAYS = 30  # the functionality panel judges the last 30 days ending on as_of
LIST_LIMIT = 25  # rows shown in each list panel (the linked API endpoint gives all of them)

# Permissions behind each panel: an official sees a panel only where a grant gives that permission.
PANEL_PERMISSIONS = {
    "coverage": "households:read",
    "water_quality": water_quality.READ,
    "functionality": service_levels.READ,
    "overdue_tests": water_quality.READ,
    "remedial_actions": "cases:read",
}


# ---------------------------------------------------------------------------------------------------- session

def official_principal(request: Request) -> Principal | None:
    """The signed-in official from the session cookie, or None (no cookie, bad or expired token, not a person)."""
    node = node_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    try:
        claims = read_token(token, secret=node.settings.secret_key, issuer=node.settings.node_id)
    except Unauthenticated:
        return None
    if claims.get("kind") != "person":
        return None
    return Principal(subject=claims["sub"], kind="person",
                     grants=tuple(Grant(g["role"], g["path"]) for g in claims.get("grants", [])),
                     role_permissions=node.role_permissions, source_system=node.settings.node_id)


def _secure(request: Request) -> bool:
    return node_of(request).settings.env == "production"


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), nonce.encode(), hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The request's valid CSRF cookie value, or a new signed one (set on the response by ``with_csrf``)."""
    secret = node_of(request).settings.secret_key
    current = request.cookies.get(CSRF_COOKIE, "")
    if _csrf_valid(secret, current):
        return current
    nonce = secrets.token_urlsafe(24)
    return f"{nonce}.{_sign(secret, nonce)}"


def _csrf_valid(secret: str, value: str) -> bool:
    nonce, _, signature = value.partition(".")
    return bool(nonce and signature) and hmac.compare_digest(signature, _sign(secret, nonce))


def with_csrf(request: Request, response: Response, token: str, path: str = "/officials") -> Response:
    """Set the CSRF cookie ``token`` (from :func:`csrf_token`) on ``response`` when the request did not carry it;
    ``path``: the pages whose forms post with it (the Citizen Corner's forms use ``/citizen``)."""
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request),
                            path=path)
    return response


def check_csrf(request: Request, submitted: str | None) -> str | None:
    """None if the POST is genuine, else the problem (shown to the user; nothing is done)."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        own = f"{request.url.scheme}://{request.url.netloc}"
        if origin.rstrip("/") != own:
            return "origin"
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not submitted or not cookie or not hmac.compare_digest(submitted, cookie):
        return "csrf"
    if not _csrf_valid(node_of(request).settings.secret_key, cookie):
        return "csrf"
    return None


def _safe_next(value: str | None) -> str:
    """Only a path of the officials' pages: never an open redirect to another site."""
    if not value:
        return "/officials/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/officials/") or value.startswith("//"):
        return "/officials/"
    return value


# ---------------------------------------------------------------------------------------------------- panels

@dataclass
class Dashboard:
    """What the dashboard shows for one official: the places covered and one dict per panel (None: no grant)."""

    places: list[dict[str, Any]]
    within: dict[str, Any] | None
    as_of: dt.date
    panels: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return all(p is None for p in self.panels.values())


def narrow(scope: list[str], within: str | None) -> list[str]:
    """The part of ``scope`` (path prefixes) under ``within``: within itself where a grant covers it, and the grants
    lying inside it."""
    if within is None:
        return scope
    return sorted({within for p in scope if within.startswith(p)} | {p for p in scope if p.startswith(within)})


def granted_places(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The units the official's grants are bound to (name, level, LGD code, path), national grants as '/'."""
    paths = sorted({g.path for g in principal.grants})
    a = AdminUnit.__table__
    named = {r.lgd_path: r for r in session.execute(
        select(a.c.lgd_path, a.c.name, a.c.name_local, a.c.level, a.c.lgd_code)
        .where(a.c.lgd_path.in_([p for p in paths if p != "/"]), a.c.deleted_at.is_(None),
               a.c.level != "habitation"))}
    out = []
    for p in paths:
        row = named.get(p)
        roles = sorted({g.role for g in principal.grants if g.path == p})
        if p == "/":
            out.append({"path": p, "name": None, "name_local": None, "level": "national", "lgd_code": None,
                        "roles": roles})
        elif row is not None:
            out.append({"path": p, "name": row.name, "name_local": row.name_local, "level": row.level,
                        "lgd_code": row.lgd_code, "roles": roles})
    return out


def coverage(session: Session, principal: Principal, within: str | None) -> dict[str, Any] | None:
    """Households, tap connections (households with one; FHTC components) and Har Ghar Jal villages.

    A village counts as Har Ghar Jal when it has households and every one of them has a tap connection (the
    mission's "100% FHTC" test, the same as the open data's ``har_ghar_jal_status``), computed in one GROUP BY over
    households.
    """
    scope = narrow(principal.scope("households:read"), within)
    if not scope:
        return None
    h = Household.__table__
    with_tap = case((h.c.has_tap_connection.is_(True), 1), else_=0)
    needs_tap = case((h.c.has_tap_connection.is_(True), 0), else_=1)
    per_village = (select(h.c.village_id, func.count().label("households"), func.sum(with_tap).label("taps"),
                          func.sum(needs_tap).label("missing"))
                   .where(h.c.deleted_at.is_(None), scope_clause(h.c.lgd_path, scope))
                   .group_by(h.c.village_id).subquery())
    row = session.execute(select(
        func.count().label("villages_with_households"), func.coalesce(func.sum(per_village.c.households), 0),
        func.coalesce(func.sum(per_village.c.taps), 0),
        func.coalesce(func.sum(case((per_village.c.missing == 0, 1), else_=0)), 0))).one()
    villages_with_households, households, taps, har_ghar_jal = (int(x or 0) for x in row)
    a = AdminUnit.__table__
    villages = session.execute(select(func.count()).where(
        a.c.level == "village", a.c.deleted_at.is_(None), scope_clause(a.c.lgd_path, scope))).scalar_one()
    c = Component.__table__
    component_scope = narrow(principal.scope("components:read"), within)
    fhtc = session.execute(select(func.count()).where(
        c.c.component_type == "fhtc", c.c.deleted_at.is_(None), scope_clause(c.c.lgd_path, component_scope))
    ).scalar_one() if component_scope else None
    return {"villages": int(villages), "villages_with_households": villages_with_households,
            "households": households, "households_with_tap": taps,
            "tap_share_pct": round(100 * taps / households, 1) if households else None,
            "fhtc_components": fhtc, "har_ghar_jal_villages": har_ghar_jal,
            "api": "/api/v1/households?has_tap_connection=false&total=true"}


def water_quality_panel(session: Session, principal: Principal, within: str | None, as_of: dt.date,
                        period_days: int) -> dict[str, Any] | None:
    if not narrow(principal.scope(water_quality.READ), within):
        return None
    end = dt.datetime.combine(as_of, dt.time.max, dt.UTC)
    period = water_quality.Period(end - dt.timedelta(days=period_days), end)
    statuses = water_quality.village_statuses(session, principal, period, within)
    counts = {k: sum(1 for v in statuses.values() if v["status"] == k) for k in ("safe", "unsafe", "not_tested")}
    unsafe = sorted((v for v in statuses.values() if v["status"] == "unsafe"), key=lambda v: v["lgd_path"])
    return {"period_days": period_days, "counts": counts, "villages": len(statuses),
            "contaminated": [{k: v[k] for k in ("lgd_code", "name", "contaminants", "latest_tested_at")}
                             for v in unsafe[:LIST_LIMIT]],
            "contaminated_total": len(unsafe),
            "api": "/api/v1/water-quality/village-status?status=unsafe"}


def functionality_panel(session: Session, principal: Principal, within: str | None, as_of: dt.date,
                        rules: service_levels.Rules) -> dict[str, Any] | None:
    """Villages functional over the last 30 days ending on ``as_of``, by the service-level rules of
    ``service_delivery.service`` (same day verdicts, same share of functional days; the API judges calendar
    months, the dashboard a rolling window, so its figure moves every day)."""
    scope = narrow(principal.scope(service_levels.READ), within)
    if not scope:
        return None
    first = as_of - dt.timedelta(days=FUNCTIONALITY_WINDOW_DAYS - 1)
    days = [first + dt.timedelta(days=i) for i in range(FUNCTIONALITY_WINDOW_DAYS)]
    # The service's set-based building blocks: one GROUP BY (village, day) query for the window.
    villages = service_levels.villages_in_scope(session, scope)
    per_village: dict[uuid.UUID, dict[dt.date, Any]] = defaultdict(dict)
    for row in service_levels.day_aggregates(session, scope, first, as_of, rules):
        per_village[row.village_id][row.supply_date] = row
    served = service_levels.served_villages(session, scope)
    counted = [vid for vid in villages if str(vid) in served or vid in per_village]
    population = service_levels.population_by_village(session, scope)
    quality = service_levels.quality_status_by_path(session, scope, as_of, rules)
    failing = {"quantity": 0, "regularity": 0, "quality": 0, "no_records": 0}
    functional = 0
    lpcd_total, lpcd_days = 0.0, 0
    not_functional: list[dict[str, Any]] = []
    for vid in counted:
        v = villages[vid]
        wq_status = quality.get(v["lgd_path"], {}).get("status", "not_tested")
        aggs = per_village.get(vid, {})
        judged = [service_levels.judge_day(aggs.get(day), population.get(vid, 0), wq_status, rules) for day in days]
        for d in judged:
            if d["lpcd"] is not None:
                lpcd_total += d["lpcd"]
                lpcd_days += 1
        verdict = service_levels.judge_month(judged, rules)
        if verdict["functional"]:
            functional += 1
        else:
            not_functional.append({"lgd_code": v["lgd_code"], "name": v["name"], "lgd_path": v["lgd_path"],
                                   "functional_days": verdict["functional_days"], "reasons": verdict["reasons"]})
        for reason in verdict["reasons"]:
            if reason in failing:
                failing[reason] += 1
    not_functional.sort(key=lambda r: r["lgd_path"])
    return {"since": first.isoformat(), "until": as_of.isoformat(), "villages": len(counted),
            "functional": functional, "not_functional_total": len(counted) - functional,
            "functional_pct": round(100 * functional / len(counted), 1) if counted else None,
            "average_lpcd": round(lpcd_total / lpcd_days, 1) if lpcd_days else None,
            "norm_lpcd": rules.norm_lpcd, "failing": failing, "not_functional": not_functional[:LIST_LIMIT],
            "api": f"/api/v1/service-levels?month={as_of:%Y-%m}&level=block"}


def overdue_tests_panel(session: Session, principal: Principal, within: str | None, as_of: dt.date,
                        settings) -> dict[str, Any] | None:
    if not narrow(principal.scope(water_quality.READ), within):
        return None
    items = water_quality.surveillance(session, principal, as_of, within=within,
                                       chemical_interval_days=settings.wq_chemical_interval_days,
                                       pre_months=tuple(settings.wq_pre_monsoon_months))
    overdue = [i for i in items if i["chemical"]["overdue"] or i["bacteriological"]["overdue"]]
    village_codes = {i["lgd"].get("village") for i in overdue[:LIST_LIMIT]} - {None}
    names = dict(session.execute(select(AdminUnit.lgd_code, AdminUnit.name).where(
        AdminUnit.level == "village", AdminUnit.lgd_code.in_(village_codes))).all()) if village_codes else {}
    return {"sources": len(items), "chemical_overdue": sum(i["chemical"]["overdue"] for i in items),
            "bacteriological_overdue": sum(i["bacteriological"]["overdue"] for i in items),
            "overdue_total": len(overdue),
            "overdue": [{"code": i["code"], "name": i["name"], "village": names.get(i["lgd"].get("village")),
                         "chemical_overdue": i["chemical"]["overdue"], "chemical_last": i["chemical"]["last_tested"],
                         "bacteriological_overdue": i["bacteriological"]["overdue"]} for i in overdue[:LIST_LIMIT]],
            "api": f"/api/v1/water-quality/surveillance?overdue_only=true&as_of={as_of.isoformat()}"}


def remedial_actions_panel(session: Session, principal: Principal, within: str | None,
                           now: dt.datetime) -> dict[str, Any] | None:
    """Open remedial-action cases whose place or assignment is in the official's ``cases:read`` scope."""
    scope = principal.scope("cases:read")
    if not narrow(scope, within):
        return None
    c = WorkflowCase.__table__
    visible = (scope_clause(c.c.lgd_path, scope) | scope_clause(c.c.assigned_path, scope))
    conds = [visible, c.c.workflow == REMEDIAL_ACTION, c.c.closed_at.is_(None)]
    if within:
        conds.append(c.c.lgd_path.startswith(within, autoescape=True))
    overdue_expr = and_(c.c.due_at.is_not(None), c.c.due_at <= now)
    total, overdue = session.execute(select(func.count(), func.coalesce(func.sum(case((overdue_expr, 1), else_=0)),
                                                                        0)).where(*conds)).one()
    rows = session.execute(select(c.c.code, c.c.state, c.c.lgd_path, c.c.assigned_level, c.c.due_at,
                                  c.c.opened_at).where(*conds).order_by(c.c.due_at.is_(None), c.c.due_at, c.c.code)
                           .limit(LIST_LIMIT)).all()
    village_codes = {_village_code(r.lgd_path) for r in rows} - {None}
    names = dict(session.execute(select(AdminUnit.lgd_code, AdminUnit.name).where(
        AdminUnit.level == "village", AdminUnit.lgd_code.in_(village_codes))).all()) if village_codes else {}
    cases = []
    for r in rows:
        due = _aware(r.due_at) if r.due_at else None
        cases.append({"code": r.code, "state": r.state, "village": names.get(_village_code(r.lgd_path)),
                      "assigned_level": r.assigned_level, "due_at": due.isoformat() if due else None,
                      "overdue": due is not None and due <= now,
                      "opened_at": _aware(r.opened_at).date().isoformat() if r.opened_at else None})
    return {"open": int(total), "overdue": int(overdue or 0), "cases": cases,
            "api": f"/api/v1/cases?workflow={REMEDIAL_ACTION}&status=open&total=true"}


def _village_code(path: str) -> int | None:
    for seg in path.strip("/").split("/"):
        if seg.startswith("V") and seg[1:].isdigit():
            return int(seg[1:])
    return None


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def build_dashboard(session: Session, principal: Principal, settings, *, within: str | None = None,
                    as_of: dt.date | None = None, now: dt.datetime | None = None) -> Dashboard:
    """Every panel for ``principal``, under ``within`` (a path) when given. Each panel is None where no grant of
    the official gives its permission over the place."""
    now = now or dt.datetime.now(dt.UTC)
    day = as_of or now.date()
    board = Dashboard(places=granted_places(session, principal), within=None, as_of=day)
    board.panels = {
        "coverage": coverage(session, principal, within),
        "water_quality": water_quality_panel(session, principal, within, day, settings.wq_status_period_days),
        "functionality": functionality_panel(session, principal, within, day,
                                             service_levels.Rules.from_settings(settings)),
        "overdue_tests": overdue_tests_panel(session, principal, within, day, settings),
        "remedial_actions": remedial_actions_panel(session, principal, within, now),
    }
    return board


def resolve_place(session: Session, principal: Principal, within: str | None) -> tuple[str | None, dict | None]:
    """``district:745`` or a path -> (path, unit) for the dashboard's ``within``; (None, None) when absent.

    Raises ValidationFailed naming ``within`` when it is malformed or names no unit."""
    if not within:
        return None, None
    path = unit_path(session, within)
    if path is None:
        raise ValidationFailed(f"within: no unit {within}", details=[{"field": "within", "problem": "unknown unit"}])
    a = AdminUnit.__table__
    row = session.execute(select(a.c.name, a.c.name_local, a.c.level, a.c.lgd_code).where(
        a.c.lgd_path == path, a.c.deleted_at.is_(None), a.c.level != "habitation")).first()
    unit = {"path": path, "name": row.name if row else path, "name_local": row.name_local if row else None,
            "level": row.level if row else None, "lgd_code": row.lgd_code if row else None}
    return path, unit


def covers(principal: Principal, path: str) -> bool:
    """Whether any grant of the official lies on ``path`` or inside it (so some panel can show something)."""
    return any(path.startswith(g.path) or g.path.startswith(path) for g in principal.grants)


# ---------------------------------------------------------------------------------------------------- routes

def _render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> Response:
    # pages for a signed-in person (and their forms with CSRF tokens) are never cached by anyone
    return render(request, template, context, status_code=status_code, cache_control="private, no-store")


def _login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/officials/login?next={quote(target, safe='')}", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002 - the form field's name
    token = csrf_token(request)
    response = _render(request, "officials/login.html", {
        "csrf_token": token, "next": _safe_next(next), "error": None, "username": "", "missing": [],
        "signed_out": request.query_params.get("signed_out") == "1"})
    return with_csrf(request, response, token)


def _check_password(node, username: str, password: str) -> list[Grant]:
    with node.db.unit_of_work(write=False) as session:
        return grants_of(authenticate(session, node.passwords, username, password, "person"))


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    target = _safe_next(str(form.get("next") or ""))
    node = node_of(request)
    problem = check_csrf(request, str(form.get("csrf_token") or ""))
    error, status = None, 200
    if problem:
        error, status = f"login.error_{problem}", 403
    elif not username or not password:
        error, status = "login.error_missing", 422
    else:
        try:
            # argon2 and the database are blocking work: off the event loop
            grants = await run_in_threadpool(_check_password, node, username, password)
        except Unauthenticated:
            error, status = "login.error_wrong", 401
    if error:
        token = csrf_token(request)
        missing = [f for f, v in (("username", username), ("password", password)) if not v]
        response = _render(request, "officials/login.html", {"csrf_token": token, "next": target, "error": error,
                                                              "username": username, "missing": missing,
                                                              "signed_out": False}, status)
        return with_csrf(request, response, token)
    access, expires = issue_token(secret=node.settings.secret_key, issuer=node.settings.node_id, subject=username,
                                  kind="person", grants=grants, minutes=node.settings.access_token_minutes)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, access, max_age=expires, httponly=True, samesite="lax",
                        secure=_secure(request), path="/")
    return response


@router.get("/logout")
def logout_form(request: Request) -> Response:
    principal = official_principal(request)
    if principal is None:
        return RedirectResponse("/officials/login", status_code=303)
    token = csrf_token(request)
    response = _render(request, "officials/logout.html", {"csrf_token": token, "official": principal.subject,
                                                           "error": None})
    return with_csrf(request, response, token)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    problem = check_csrf(request, str(form.get("csrf_token") or ""))
    if problem:
        token = csrf_token(request)
        response = _render(request, "officials/logout.html", {"csrf_token": token, "error": f"login.error_{problem}",
                                                               "official": None}, 403)
        return with_csrf(request, response, token)
    response = RedirectResponse("/officials/login?signed_out=1", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request))
    return response


@router.get("/")
def dashboard(request: Request, within: str | None = None, as_of: str | None = None) -> Response:
    principal = official_principal(request)
    if principal is None:
        return _login_redirect(request)
    node = node_of(request)
    day = None
    if as_of:
        try:
            day = dt.date.fromisoformat(as_of)
        except ValueError as exc:
            raise ValidationFailed("as_of: expected a date YYYY-MM-DD",
                                   details=[{"field": "as_of", "problem": "expected YYYY-MM-DD"}]) from exc
    with node.db.unit_of_work(write=False) as session:
        path, unit = resolve_place(session, principal, within)
        if path is not None and not covers(principal, path):
            board = Dashboard(places=granted_places(session, principal), within=unit,
                              as_of=day or dt.date.today())
            return _page(request, principal, board, "outside", 403)
        board = build_dashboard(session, principal, node.settings, within=path, as_of=day)
        board.within = unit
    return _page(request, principal, board, "no_grant" if board.empty else None)


def _page(request: Request, principal: Principal, board: Dashboard, message: str | None,
          status_code: int = 200) -> Response:
    token = csrf_token(request)  # the page carries the sign-out form
    response = _render(request, "officials/dashboard.html", {
        "official": principal.subject, "board": board, "panels": board.panels, "message": message,
        "csrf_token": token}, status_code)
    return with_csrf(request, response, token)
