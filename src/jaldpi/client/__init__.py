"""The Python SDK of a jaldpi node, for state systems and partners (docs/sdk.md).

::

    from jaldpi.client import JaldpiClient

    with JaldpiClient("https://node.example.gov.in", client_id="state-mis", client_secret="...") as node:
        scheme = node.schemes.lookup("imis", "123456")  # by an external id
        summary = node.households.bulk_push(rows, atomic=False)  # one summary, per-row errors
        summary.raise_for_errors()

It imports only httpx, pydantic and the standard library: a partner system does not load the node's server code.
"""

from jaldpi.client.connection import JaldpiClient
from jaldpi.client.cursors import CursorStore, FileCursorStore, MemoryCursorStore, SQLiteCursorStore
from jaldpi.client.errors import (
    ApiError,
    Conflict,
    ErrorDetail,
    Forbidden,
    ImportFailed,
    JaldpiClientError,
    NetworkError,
    NotFound,
    OutOfJurisdiction,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    Unauthenticated,
    ValidationError,
    VersionConflict,
)
from jaldpi.client.feed import FeedConsumer
from jaldpi.client.ids import new_id
from jaldpi.client.models import (
    RECORD_TYPES,
    AdminUnit,
    BatchOutcome,
    Change,
    ChangePage,
    Component,
    Entity,
    HistoryEntry,
    Household,
    Identity,
    ImportStats,
    ImportSummary,
    LookupHit,
    NaturalResource,
    Page,
    Record,
    RowError,
    RowResult,
    Sample,
    SamplingPoint,
    Scheme,
    SupplyRecord,
)
from jaldpi.client.registries import RegistryClient
from jaldpi.client.retry import RetryPolicy
from jaldpi.client.webhooks import SIGNATURE_HEADER, SignatureVerificationError, sign, verify_signature

__all__ = [
    "RECORD_TYPES", "SIGNATURE_HEADER", "AdminUnit", "ApiError", "BatchOutcome", "Change", "ChangePage",
    "Component", "Conflict", "CursorStore", "Entity", "ErrorDetail", "FeedConsumer", "FileCursorStore", "Forbidden",
    "HistoryEntry", "Household", "Identity", "ImportFailed", "ImportStats", "ImportSummary", "JaldpiClient",
    "JaldpiClientError", "LookupHit", "MemoryCursorStore", "NaturalResource", "NetworkError", "NotFound",
    "OutOfJurisdiction", "Page", "PayloadTooLarge", "RateLimited", "Record", "RegistryClient", "RetryPolicy",
    "RowError", "RowResult", "SQLiteCursorStore", "Sample", "SamplingPoint", "Scheme", "ServerError",
    "SignatureVerificationError", "SupplyRecord", "Unauthenticated", "ValidationError", "VersionConflict",
    "new_id", "sign", "verify_signature",
]
