"""The catalogue of requirements of data standard v1 and its API that the conformance kit checks.

Each requirement has a stable id (partners quote it in tickets; never renumber, retire ids instead), a level
(MUST: a conforming implementation may not miss it; SHOULD: expected, but a miss does not fail the run), one
statement, and the section of the documentation it comes from. What a check needs to run (a credential, writing
test records, a narrower second credential) decides when the runner skips it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Level(str, enum.Enum):
    MUST = "MUST"
    SHOULD = "SHOULD"


@dataclass(frozen=True)
class Requirement:
    id: str
    level: Level
    statement: str
    source: str  # docs file and section, e.g. "api.md#pages"
    needs_credential: bool = False  # needs --client-id/--client-secret or --username/--password
    writes: bool = False  # writes test records (skipped with --read-only)
    needs_narrow: bool = False  # needs a second, narrower credential


M, S = Level.MUST, Level.SHOULD

CATALOGUE: tuple[Requirement, ...] = (
    # ---- the data standard, published at /standard/v1/
    Requirement("STD-001", M, "/standard/v1/ answers a JSON index naming standard v1, its schemas and its code lists.",
                "standard.md#data-standard-v1"),
    Requirement("STD-002", M, "Every schema the index lists is served as JSON, is a valid JSON Schema Draft 2020-12 "
                "document and every $ref in it resolves.", "standard.md#data-standard-v1"),
    Requirement("STD-003", M, "Input and record schemas are published for every v1 registry (admin_units, entities, "
                "natural_resources, households, schemes, components), and every v1 code list is published.",
                "standard.md#records"),
    Requirement("STD-004", M, "Every code list is served at its own address with a semantic version (MAJOR.MINOR."
                "PATCH) equal to the index's, and its codes are unique.", "standard.md#code-lists"),
    Requirement("STD-005", M, "Every code of every code list has a non-empty English label and a Hindi label in "
                "Devanagari.", "standard.md#code-lists"),
    Requirement("STD-006", M, "Records the API returns validate against their registry's published record schema.",
                "standard.md#data-standard-v1"),
    # ---- the API document and the error shape
    Requirement("API-001", M, "/openapi.json is an OpenAPI 3.x document with info and paths.", "api.md#api-guide"),
    Requirement("API-002", S, "The OpenAPI document describes the token endpoint and the list, read and bulk "
                "endpoints of every v1 registry.", "api.md#registries"),
    Requirement("ERR-001", M, "A record that does not exist answers 404 with the error shape and code not_found.",
                "api.md#errors"),
    Requirement("ERR-002", M, "An invalid query parameter answers 422 with the error shape and a detail naming the "
                "parameter.", "api.md#errors"),
    # ---- signing in and anonymous access
    Requirement("AUTH-001", M, "The token endpoint issues a bearer token for the supplied credentials "
                "(access_token, token_type bearer, expires_in).", "api.md#signing-in", needs_credential=True),
    Requirement("AUTH-002", M, "Wrong credentials at the token endpoint answer 401 with the error shape.",
                "api.md#signing-in"),
    Requirement("AUTH-003", M, "A malformed or forged bearer token answers 401; it is never treated as anonymous.",
                "api.md#errors"),
    Requirement("AUTH-004", M, "Anonymous callers read administrative units and get 401 (not an empty list) from "
                "registries that are not public.", "api.md#jurisdiction"),
    Requirement("AUTH-005", M, "A write without a token is refused with 401 and writes nothing.", "api.md#errors",
                needs_credential=True, writes=True),
    # ---- keyset pages
    Requirement("PAGE-001", M, "Pages hold at most `limit` items, and following next_cursor yields every item "
                "exactly once (no duplicates, no gaps).", "api.md#pages"),
    Requirement("PAGE-002", M, "The last page of a list has next_cursor null.", "api.md#pages"),
    Requirement("PAGE-003", S, "A cursor the node did not issue answers 422 with the error shape (not 500, not the "
                "first page).", "api.md#pages"),
    # ---- one record: create, read, update, delete, history
    Requirement("REG-001", M, "POST /api/v1/{registry} creates a record: 201, a Location header, and the record "
                "with id, code, version 1 and lgd_path.", "api.md#registries", needs_credential=True, writes=True),
    Requirement("REG-002", M, "A created record reads back by id and by code with the values sent (references as "
                "<field>_id, external_ids as sent), with ETag = version.", "api.md#records",
                needs_credential=True, writes=True),
    Requirement("REG-003", M, "A client-minted UUIDv7 id is kept as the record's id.", "api.md#records",
                needs_credential=True, writes=True),
    Requirement("REG-004", M, "PATCH with the current version applies the change and raises the version by one.",
                "api.md#registries", needs_credential=True, writes=True),
    Requirement("REG-005", M, "PATCH with a stale version (field or If-Match) is refused with 409 version_conflict "
                "and changes nothing.", "api.md#registries", needs_credential=True, writes=True),
    Requirement("REG-006", M, "Re-sending a stored record unchanged creates no new version and no history entry.",
                "api.md#bulk-import", needs_credential=True, writes=True),
    Requirement("REG-007", M, "An invalid record is refused with 422, the error shape and a detail naming each bad "
                "field.", "api.md#errors", needs_credential=True, writes=True),
    Requirement("REG-008", M, "The history of a record lists every version in order, starting with a create.",
                "api.md#registries", needs_credential=True, writes=True),
    Requirement("REG-009", M, "DELETE soft-deletes: the record then answers 404, is listed with include_deleted="
                "true, and its history ends with a delete.", "api.md#registries", needs_credential=True,
                writes=True),
    Requirement("REG-010", M, "Searching with external_id=system:value finds exactly the record holding it.",
                "api.md#registries", needs_credential=True, writes=True),
    # ---- bulk import
    Requirement("IMP-001", M, "A bulk import answers the summary shape: registry, status, strategy, atomic, "
                "dry_run, written, stats {created, updated, deleted, ignored, errors, total}, rows.",
                "api.md#bulk-import", needs_credential=True, writes=True),
    Requirement("IMP-002", M, "A dry run reports what it would do and writes nothing.", "api.md#bulk-import",
                needs_credential=True, writes=True),
    Requirement("IMP-003", M, "An atomic import with one bad row answers 422 with status error and writes none of "
                "its rows.", "api.md#bulk-import", needs_credential=True, writes=True),
    Requirement("IMP-004", M, "A per-record import (atomic=false) writes the good rows and reports the bad ones "
                "(status partial).", "api.md#bulk-import", needs_credential=True, writes=True),
    Requirement("IMP-005", M, "Per-row errors carry codes from the documented set (invalid, reference_not_found, "
                "duplicate_in_payload, ...) matching the fault.", "api.md#bulk-import", needs_credential=True,
                writes=True),
    Requirement("IMP-006", S, "Bulk import accepts NDJSON and CSV bodies as well as a JSON array.",
                "api.md#bulk-import", needs_credential=True, writes=True),
    Requirement("IMP-007", S, "An unknown query parameter on a bulk import (a typo such as dryrun=true) is refused "
                "with 422 and writes nothing.", "api.md#bulk-import", needs_credential=True, writes=True),
    # ---- jurisdiction, with a second credential bound to a smaller subtree
    Requirement("JUR-001", M, "A record outside a credential's jurisdiction is invisible to it: 404 (not 403) by id "
                "and by code, absent from lists and external-id searches.", "api.md#jurisdiction",
                needs_credential=True, writes=True, needs_narrow=True),
    Requirement("JUR-002", M, "A credential reads records inside its own jurisdiction.", "api.md#jurisdiction",
                needs_credential=True, writes=True, needs_narrow=True),
    Requirement("JUR-003", M, "A write outside a credential's jurisdiction is refused with 403 out_of_jurisdiction "
                "and writes nothing.", "api.md#jurisdiction", needs_credential=True, writes=True, needs_narrow=True),
    # ---- the change feed
    Requirement("FEED-001", M, "GET /api/v1/changes answers {items, next_cursor (always present), has_more}; each "
                "change carries seq, cursor, record_type, record_id, operation, version, occurred_at, lgd_path, "
                "record, changes and hash, in increasing seq.", "feed_and_webhooks.md#the-change-feed"),
    Requirement("FEED-002", M, "The feed resumes from any change's cursor: small pages give the same changes as one "
                "large page (no gaps, no duplicates), and the cursor after the last change answers no items.",
                "feed_and_webhooks.md#the-change-feed"),
    Requirement("FEED-003", M, "A record's create, update and delete appear in the feed in order, the delete with "
                "record null.", "feed_and_webhooks.md#the-change-feed", needs_credential=True, writes=True),
    Requirement("FEED-004", S, "types= limits the feed to the named record types.",
                "feed_and_webhooks.md#the-change-feed"),
    Requirement("FEED-005", M, "The feed of a credential omits changes outside its jurisdiction.",
                "feed_and_webhooks.md#the-change-feed", needs_credential=True, writes=True, needs_narrow=True),
)

BY_ID: dict[str, Requirement] = {r.id: r for r in CATALOGUE}

__all__ = ["BY_ID", "CATALOGUE", "Level", "Requirement"]
