"""``JaldpiClient``: one signed-in connection to a jaldpi node (HTTP, token, retries, error mapping)."""

from __future__ import annotations

import datetime as dt
import logging
import ssl
import time
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

import httpx
import pydantic_core

from jaldpi import __version__
from jaldpi.client.auth import RENEWABLE_CODES, TOKEN_PATH, Credentials, TokenManager, token_of
from jaldpi.client.errors import (
    ApiError,
    NetworkError,
    NotFound,
    RateLimited,
    error_from_response,
    parse_retry_after,
)
from jaldpi.client.models import (
    AdminUnit,
    Change,
    ChangePage,
    Component,
    Entity,
    Household,
    Identity,
    LookupHit,
    NaturalResource,
    Sample,
    SamplingPoint,
    Scheme,
    SupplyRecord,
    record_model,
)
from jaldpi.client.registries import RegistryClient, query_value
from jaldpi.client.retry import IDEMPOTENT_METHODS, NOT_SENT_ERRORS, RETRYABLE_STATUSES, RetryPolicy

log = logging.getLogger("jaldpi.client")


class JaldpiClient:
    """A client for one jaldpi node::

        with JaldpiClient("https://jjm-node.example.gov.in", client_id="state-mis", client_secret="...") as node:
            for household in node.households.iterate(within="district:745"):
                print(household.code, household.members_count)

    Sign in with exactly one of: ``username``/``password`` (a person, OAuth2 password grant), ``client_id``/
    ``client_secret`` (a partner system, client credentials grant), or ``token`` (a bearer token you obtained
    elsewhere; it cannot be renewed). With none, the client is anonymous and reads only public registries
    (administrative units) and the standard.

    ``timeout`` is seconds per request (a bulk push of 5,000 records takes a few seconds on a busy node).
    ``max_retries``, ``backoff_base``, ``backoff_max`` and ``max_retry_after`` set the retry policy
    (:mod:`jaldpi.client.retry` says which requests are retried). ``verify``: TLS certificate checks (``False``, a
    CA bundle path, or an ``ssl.SSLContext``). The client is thread-safe; close it (or use it as a context manager)
    to release its connections.
    """

    def __init__(self, base_url: str, *, username: str | None = None, password: str | None = None,
                 client_id: str | None = None, client_secret: str | None = None, token: str | None = None,
                 timeout: float = 30.0, max_retries: int = 3, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 max_retry_after: float = 120.0, user_agent: str | None = None,
                 verify: bool | str | ssl.SSLContext = True) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.retry = RetryPolicy(max_retries=max_retries, backoff_base=backoff_base, backoff_max=backoff_max,
                                 max_retry_after=max_retry_after)
        if isinstance(verify, str):  # a CA bundle (e.g. a state data centre's own certificate authority)
            verify = ssl.create_default_context(cafile=verify)
        agent = user_agent or f"jaldpi-client/{__version__} httpx/{httpx.__version__}"
        self.http = httpx.Client(base_url=self.base_url, timeout=timeout, verify=verify,
                                 headers={"User-Agent": agent, "Accept": "application/json"})
        self.auth = TokenManager(Credentials(username=username, password=password, client_id=client_id,
                                             client_secret=client_secret, token=token), self._fetch_token)
        self._registries: dict[str, RegistryClient[Any]] = {}

    # ------------------------------------------------------------------------------------------------ lifecycle
    def __enter__(self) -> JaldpiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self.http.close()

    def __repr__(self) -> str:
        return f"JaldpiClient({self.base_url!r})"

    # ------------------------------------------------------------------------------------------------ access
    @property
    def access_token(self) -> str | None:
        """The current bearer token (signs in first if needed); for calls the SDK does not wrap."""
        header = self.auth.authorization()
        return header["Authorization"][7:] if header else None

    def me(self) -> Identity:
        """Who the client is signed in as, its grants, and where each permission applies."""
        return Identity.model_validate(self.get_json("/api/v1/auth/me"))

    def health(self) -> dict[str, Any]:
        """The node's liveness answer: status, node id, software and standard versions, database."""
        return self.get_json("/health")

    # ------------------------------------------------------------------------------------------------ registries
    def registry(self, name: str) -> RegistryClient[Any]:
        """Access to one registry by its URL name (``households``); records are typed for the standard's registries."""
        if name not in self._registries:
            self._registries[name] = RegistryClient(self, name, record_model(name))
        return self._registries[name]

    @property
    def admin_units(self) -> RegistryClient[AdminUnit]:
        return self.registry("admin_units")

    @property
    def entities(self) -> RegistryClient[Entity]:
        return self.registry("entities")

    @property
    def natural_resources(self) -> RegistryClient[NaturalResource]:
        return self.registry("natural_resources")

    @property
    def households(self) -> RegistryClient[Household]:
        return self.registry("households")

    @property
    def schemes(self) -> RegistryClient[Scheme]:
        return self.registry("schemes")

    @property
    def components(self) -> RegistryClient[Component]:
        return self.registry("components")

    @property
    def sampling_points(self) -> RegistryClient[SamplingPoint]:
        return self.registry("sampling_points")

    @property
    def samples(self) -> RegistryClient[Sample]:
        return self.registry("samples")

    @property
    def supply_records(self) -> RegistryClient[SupplyRecord]:
        return self.registry("supply_records")

    def lookup(self, system: str, value: str) -> list[LookupHit]:
        """Records of any registry whose external id ``system`` is ``value`` (``[]`` when none is visible to you)."""
        try:
            body = self.get_json("/api/v1/lookup", params={"system": system, "value": value})
        except NotFound:
            return []
        return [LookupHit(record_type=hit["record_type"],
                          record=record_model(hit["record_type"]).model_validate(hit["record"]))
                for hit in body["items"]]

    # ------------------------------------------------------------------------------------------------ feed
    def changes_page(self, *, after: str | None = None, types: Sequence[str] | str | None = None,
                     within: str | None = None, since: dt.datetime | str | None = None,
                     until: dt.datetime | str | None = None, limit: int | None = None) -> ChangePage:
        """One page of the change feed (``GET /api/v1/changes``) after the cursor ``after``.

        ``types`` are record types (``["households", "samples"]``); ``within`` a jurisdiction (``district:745`` or a
        path); ``since`` (inclusive) and ``until`` (exclusive) bound ``occurred_at`` and must carry a time zone.
        """
        params: dict[str, str] = {}
        if after:
            params["after"] = after
        if types:
            params["types"] = types if isinstance(types, str) else ",".join(types)
        if within:
            params["within"] = within
        for name, value in (("since", since), ("until", until)):
            if value is not None:
                params[name] = _instant(name, value)
        if limit is not None:
            params["limit"] = str(limit)
        return ChangePage.model_validate(self.get_json("/api/v1/changes", params=params))

    def changes(self, *, after: str | None = None, types: Sequence[str] | str | None = None,
                within: str | None = None, since: dt.datetime | str | None = None,
                until: dt.datetime | str | None = None, limit: int | None = None) -> Iterator[Change]:
        """Every change after ``after``, following the pages until the feed is caught up.

        ``limit`` is the page size. To resume later, keep the ``cursor`` of the last change you handled (or use
        :class:`~jaldpi.client.FeedConsumer`, which stores it for you).
        """
        cursor = after
        while True:
            page = self.changes_page(after=cursor, types=types, within=within, since=since, until=until,
                                     limit=limit)
            yield from page.items
            if not page.has_more or not page.items:
                return
            cursor = page.next_cursor

    def change_types(self) -> list[dict[str, Any]]:
        """The record types of the feed you can read, with the permission and LGD scope of each."""
        return self.get_json("/api/v1/changes/types")["items"]

    # ------------------------------------------------------------------------------------------------ HTTP
    def get_json(self, path: str, *, params: dict[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params).json()

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
                headers: dict[str, str] | None = None, idempotent: bool | None = None,
                accept_statuses: Sequence[int] = ()) -> httpx.Response:
        """Send a request with the token, the retry policy and error mapping; return the (successful) response.

        ``idempotent`` (default: true for GET and HEAD) allows retries after answers that leave it unknown whether
        the node applied the request. Error answers raise the matching :class:`ApiError`, except the statuses in
        ``accept_statuses``, which are returned for the caller to read (a bulk import refused whole answers 422
        with its summary).
        """
        return self.send(method, path, params=params, json=json, headers=headers, idempotent=idempotent,
                         accept_statuses=accept_statuses)[0]

    def send(self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None,
             form: dict[str, str] | None = None, headers: dict[str, str] | None = None,
             idempotent: bool | None = None, accept_statuses: Sequence[int] = (),
             authenticate: bool = True) -> tuple[httpx.Response, int]:
        """:meth:`request`, also returning how many requests were sent (1 + retries).

        ``json`` is sent as a JSON body, ``form`` as an urlencoded form; ``authenticate=False`` sends no token.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        body = None
        extra = dict(headers or {})
        if json is not None:
            body = pydantic_core.to_json(json)  # UUIDs, dates and Decimals as the node expects them
            extra.setdefault("Content-Type", "application/json")
        elif form is not None:
            body = urlencode(form).encode()
            extra.setdefault("Content-Type", "application/x-www-form-urlencoded")
        query = {k: query_value(v) for k, v in (params or {}).items() if v is not None}
        renewed = False
        retry = 0
        attempts = 0
        while True:
            auth = self.auth.authorization() if authenticate else {}
            attempts += 1
            try:
                response = self.http.request(method, path, params=query, content=body, headers={**extra, **auth})
            except httpx.TransportError as exc:
                safe = idempotent or isinstance(exc, NOT_SENT_ERRORS)
                if safe and retry < self.retry.max_retries:
                    wait = self.retry.backoff(retry)
                    self._log_retry(method, path, type(exc).__name__, wait, retry)
                    retry += 1
                    time.sleep(wait)
                    continue
                raise NetworkError(f"{method} {path}: {type(exc).__name__}: {exc}", method=method,
                                   url=f"{self.base_url}{path}") from exc
            status = response.status_code
            if status < 400 or status in accept_statuses:
                return response, attempts
            error = error_from_response(response)
            if status == 401 and authenticate and not renewed and error.code in RENEWABLE_CODES:
                # the token expired (or the node no longer accepts it): sign in again once and resend; a 401 means
                # the node refused the request before running it, so this is safe for any request
                if self.auth.renew_after_rejection(token_of(response.request)):
                    renewed = True
                    log.info("%s %s: access token refused (%s); signed in again", method, path, error.code)
                    continue
            if retry < self.retry.max_retries and self._should_retry(error, idempotent):
                wait = self._wait_for(error, retry)
                self._log_retry(method, path, f"{status} {error.code}", wait, retry)
                retry += 1
                time.sleep(wait)
                continue
            raise error

    def _should_retry(self, error: ApiError, idempotent: bool) -> bool:
        after = parse_retry_after(error.headers.get("retry-after"))
        if after is not None and after > self.retry.max_retry_after:
            return False  # the node asks for a long pause: the caller should schedule the work, not block
        if isinstance(error, RateLimited):
            return True
        return idempotent and error.status_code in RETRYABLE_STATUSES

    def _wait_for(self, error: ApiError, retry: int) -> float:
        # A node that says when to come back (429, or a 503 with Retry-After) is believed; otherwise back off.
        after = parse_retry_after(error.headers.get("retry-after"))
        return after if after is not None else self.retry.backoff(retry)

    def _log_retry(self, method: str, path: str, reason: str, wait: float, retry: int) -> None:
        log.warning("%s %s: %s; retry %d of %d in %.2f s", method, path, reason, retry + 1, self.retry.max_retries,
                    wait)

    def _fetch_token(self, form: dict[str, str]) -> dict[str, Any]:
        # Signing in changes nothing on the node, so the token request is retried like a read.
        response, _ = self.send("POST", TOKEN_PATH, form=form, idempotent=True, authenticate=False)
        return response.json()


def _instant(name: str, value: dt.datetime | str) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        raise ValueError(f"{name} must carry a time zone (e.g. datetime(..., tzinfo=datetime.UTC) or +05:30): a "
                         "naive time is ambiguous between IST and UTC")
    return value.isoformat()
