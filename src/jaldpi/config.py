"""Settings, read from the environment (prefix ``JALDPI_``) or a ``.env`` file.

Settings are never read into module globals at import time: call :func:`get_settings` (cached) so that tests and
commands can point the node at another database by setting the environment first.
"""

from __future__ import annotations

import functools
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only secrets. A node started with JALDPI_ENV=production refuses to run with any of them.
_DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
_DEV_PII_KEY = "ZGV2LW9ubHktcGlpLWtleS1jaGFuZ2UtbWUtMDEyMzQ="  # urlsafe base64 of 32 bytes
_DEV_HASH_KEY = "dev-only-identity-hash-key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JALDPI_", env_file=".env", extra="ignore")

    env: str = Field("development", description="development | test | production")
    database_url: str = Field("sqlite:///./var/jaldpi.db", description="SQLAlchemy URL; sqlite or postgresql+psycopg")
    node_id: str = Field("sandbox-node", description="Name of this node; recorded as source system of local writes")

    secret_key: str = Field(_DEV_SECRET, description="HMAC key for JWT access tokens (HS256)")
    access_token_minutes: int = Field(60, ge=1, le=24 * 60)
    pii_encryption_key: str = Field(_DEV_PII_KEY,
                                    description="AES-256-GCM key for personal data (32 bytes, urlsafe base64)")
    identity_hash_key: str = Field(_DEV_HASH_KEY, description="HMAC key for keyed hashes of identity numbers")

    max_page_size: int = Field(500, ge=1, description="Upper cap on `limit` for every list endpoint")
    default_page_size: int = Field(50, ge=1)
    max_body_bytes: int = Field(50 * 1024 * 1024, description="Largest request body accepted (bytes)")
    max_bulk_records: int = Field(200_000, description="Largest number of records in one bulk request")
    rate_limit_per_minute: int = Field(600, description="Requests per minute per client (token or IP); 0 disables")
    anonymous_rate_limit_per_minute: int = Field(120, description="Requests per minute per IP without a token")

    gc_first_threshold: int = Field(50_000, ge=0, description="Python's generation-0 GC threshold for the server "
                                    "process (default 700 collects ~1,400 times per 30k imported records); 0 keeps "
                                    "Python's default")

    password_hash_time_cost: int = Field(2, ge=1, description="argon2id time cost")
    password_hash_memory_kib: int = Field(19456, ge=1024, description="argon2id memory cost in KiB (OWASP minimum)")

    @model_validator(mode="after")
    def _refuse_default_secrets_in_production(self) -> "Settings":
        if self.env == "production":
            for name, default in (
                ("secret_key", _DEV_SECRET),
                ("pii_encryption_key", _DEV_PII_KEY),
                ("identity_hash_key", _DEV_HASH_KEY),
            ):
                if getattr(self, name) == default:
                    raise ValueError(f"JALDPI_{name.upper()} must be set to a real secret when JALDPI_ENV=production")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        raw = self.database_url.split("///", 1)[1] if "///" in self.database_url else ""
        return None if raw in ("", ":memory:") else Path(raw)


@functools.lru_cache
def get_settings() -> Settings:
    return Settings()
