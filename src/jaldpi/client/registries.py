"""``RegistryClient``: typed access to one registry of a node (read, page, write, bulk push, history, lookup)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Generic

from jaldpi.client.errors import NotFound, PayloadTooLarge, error_from_response
from jaldpi.client.models import HistoryEntry, ImportSummary, Page, Record, RecordT, as_payload

if TYPE_CHECKING:
    from jaldpi.client.connection import JaldpiClient

STRATEGIES = ("create", "update", "create_and_update", "delete")

# Strategies under which sending the same rows twice ends where sending them once did (the second time every row
# is "ignored"): with ids minted by the client, such a push may be retried after an unknown outcome.
CONVERGENT_STRATEGIES = frozenset({"create_and_update", "update"})


def query_value(value: Any) -> str:
    """A Python value as the node reads query parameters: booleans as true/false, instants and dates in ISO 8601."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"datetime {value} must carry a time zone (a naive time is ambiguous between IST and "
                             "UTC)")
        return value.isoformat()
    if isinstance(value, dt.date | uuid.UUID | Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return query_value(value.value)
    return str(value)


class RegistryClient(Generic[RecordT]):
    """The endpoints of one registry (``/api/v1/{name}``), answering typed records (``model``)."""

    def __init__(self, client: JaldpiClient, name: str, model: type[RecordT]) -> None:
        self.client = client
        self.name = name
        self.model = model
        self.path = f"/api/v1/{name}"

    def __repr__(self) -> str:
        return f"<RegistryClient {self.name} of {self.client.base_url}>"

    # ------------------------------------------------------------------------------------------------ reads
    def get(self, key: str | uuid.UUID) -> RecordT:
        """One record by id or code; :class:`NotFound` if it does not exist or lies outside your jurisdiction."""
        return self.model.model_validate(self.client.get_json(f"{self.path}/{key}"))

    def list(self, *, within: str | None = None, q: str | None = None, limit: int | None = None,
             after: str | None = None, updated_since: dt.datetime | None = None,
             external_id: tuple[str, str] | str | None = None, include_deleted: bool = False, total: bool = False,
             **filters: Any) -> Page[RecordT]:
        """One page of records, in id (creation) order.

        ``within``: a jurisdiction (``district:745`` or a path); ``q``: text in the name; ``limit``: page size
        (capped by the node, 500 by default); ``after``: the previous page's ``next_cursor``; ``external_id``:
        ``("imis", "123")``; ``total=True`` also counts all matches. Other keyword arguments are the registry's
        filters (``level="village"``, ``scheme_type="svs"``); the node refuses unknown ones with a
        :class:`ValidationError` that lists the known filters.
        """
        params: dict[str, Any] = dict(filters)
        params.update(within=within, q=q, limit=limit, after=after, updated_since=updated_since)
        if external_id is not None:
            params["external_id"] = external_id if isinstance(external_id, str) else ":".join(external_id)
        if include_deleted:
            params["include_deleted"] = True
        if total:
            params["total"] = True
        body = self.client.get_json(self.path, params=params)
        return Page[self.model].model_validate(body)

    def iterate(self, *, within: str | None = None, q: str | None = None, page_size: int | None = None,
                after: str | None = None, updated_since: dt.datetime | None = None,
                external_id: tuple[str, str] | str | None = None, include_deleted: bool = False,
                **filters: Any) -> Iterator[RecordT]:
        """Every matching record, following ``next_cursor`` page after page (``page_size`` records per request).

        Keyset pages (ordered by id) neither skip nor repeat a record when others are written meanwhile; records
        created during the iteration with a higher id appear at the end.
        """
        if "limit" in filters:
            raise TypeError("iterate() takes page_size= (records per request); use list(limit=...) for one page")
        cursor = after
        while True:
            page = self.list(within=within, q=q, limit=page_size, after=cursor, updated_since=updated_since,
                             external_id=external_id, include_deleted=include_deleted, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def lookup(self, system: str, value: str) -> RecordT:
        """The record of this registry whose external id ``system`` is ``value``; :class:`NotFound` if none."""
        page = self.list(external_id=(system, value), limit=1)
        if not page.items:
            raise NotFound(f"no {self.name} record visible to you has {system}={value}", code="not_found",
                           status_code=404, method="GET", url=f"{self.client.base_url}{self.path}")
        return page.items[0]

    def history(self, key: str | uuid.UUID) -> list[HistoryEntry]:
        """Every version of a record, oldest first (deleted records too)."""
        body = self.client.get_json(f"{self.path}/{key}/history")
        return [HistoryEntry.model_validate(item) for item in body["items"]]

    # ------------------------------------------------------------------------------------------------ writes
    def create(self, record: RecordT | Record | dict[str, Any]) -> RecordT:
        """Create one record; returns it as stored (id, code, version 1, jurisdiction path).

        Never retried after an unknown outcome (a second create would fail ``already_exists`` or duplicate the
        record); for retry-safe writes push records with client-minted ids through :meth:`bulk_push`.
        """
        response = self.client.request("POST", self.path, json=as_payload(record))
        return self.model.model_validate(response.json())

    def update(self, key: str | uuid.UUID, changes: Record | dict[str, Any], *,
               version: int | None = None) -> RecordT:
        """Change some fields of a record (the others are kept); returns the record as stored.

        With ``version`` (the version you read), the node refuses the change with :class:`VersionConflict` if the
        record changed meanwhile, instead of overwriting someone else's edit.
        """
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        response = self.client.request("PATCH", f"{self.path}/{key}", json=as_payload(changes), headers=headers)
        return self.model.model_validate(response.json())

    def delete(self, key: str | uuid.UUID, *, version: int | None = None) -> RecordT:
        """Soft-delete a record (a later update or import restores it); returns it with ``deleted_at`` set."""
        headers = {"If-Match": f'"{version}"'} if version is not None else None
        response = self.client.request("DELETE", f"{self.path}/{key}", headers=headers)
        return self.model.model_validate(response.json())

    def bulk_push(self, records: Iterable[RecordT | Record | dict[str, Any]], *,
                  strategy: str = "create_and_update", atomic: bool = True, dry_run: bool = False,
                  batch_size: int = 5000, report: str = "errors") -> ImportSummary:
        """Push many records through the node's bulk import; returns one summary for the whole push.

        The records are sent in batches of ``batch_size`` (one request each), and the batch summaries are merged
        with row indices pointing into ``records``. A batch the node finds too large (413) is split in two and sent
        again. ``strategy``: ``create``, ``update``, ``create_and_update`` or ``delete``; ``dry_run=True`` checks
        everything and writes nothing; ``report="full"`` lists every row, not only those with errors.

        ``atomic=True`` is all-or-nothing **per batch** (per request): after a batch is refused, the later batches
        are not sent (``summary.unsent``), and the earlier ones stay written. Push at most ``batch_size`` records
        (up to the node's limit, 200,000 by default) when the whole push must be atomic. A row may reference rows
        of its own batch or of earlier batches (put a gram panchayat before its villages), not of later ones.

        Retries: a batch whose records all carry an ``id`` under ``create_and_update`` or ``update`` (or any dry
        run) is sent again after a gateway error or a broken connection, because the node matches the rows by id
        and a repeated row is ``ignored``. Rows written by an attempt whose answer was lost then report ``ignored``
        rather than ``created``; ``summary.batches[i].attempts`` shows where that may have happened. Other pushes
        are retried only when the node certainly did not see them.

        The node records the source system of the signed-in account (set when the account was created), so that one
        system cannot label its writes as another's.
        """
        if strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        if report not in ("errors", "full"):
            raise ValueError(f"report must be 'errors' or 'full', not {report!r}")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        payloads = [as_payload(r) for r in records]
        params: dict[str, Any] = {"strategy": strategy, "atomic": atomic, "dry_run": dry_run}
        if report != "errors":
            params["report"] = report
        if not payloads:
            return ImportSummary.model_validate({
                "registry": self.name, "status": "ok", "strategy": strategy, "atomic": atomic, "dry_run": dry_run,
                "written": False, "stats": {}, "rows": []})
        pending = deque((start, payloads[start:start + batch_size]) for start in range(0, len(payloads), batch_size))
        parts: list[tuple[int, ImportSummary, int]] = []
        unsent = 0
        while pending:
            start, batch = pending.popleft()
            retry_safe = dry_run or (strategy in CONVERGENT_STRATEGIES and all(p.get("id") for p in batch))
            try:
                response, attempts = self.client.send("POST", f"{self.path}/bulk", params=params, json=batch,
                                                      idempotent=retry_safe, accept_statuses=(422,))
            except PayloadTooLarge:
                if len(batch) == 1:
                    raise
                # 413 is answered before anything is imported: split the batch and send both halves in its place
                half = len(batch) // 2
                pending.appendleft((start + half, batch[half:]))
                pending.appendleft((start, batch[:half]))
                continue
            body = response.json()
            if response.status_code == 422 and "stats" not in body:
                raise error_from_response(response)  # the request itself was refused (not a summary)
            summary = ImportSummary.model_validate(body)
            parts.append((start, summary, attempts))
            if atomic and not dry_run and summary.status == "error":
                unsent = sum(len(b) for _, b in pending)
                break
        return ImportSummary.merge(parts, unsent=unsent)
