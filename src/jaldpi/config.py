"""Settings, read from the environment (prefix ``JALDPI_``) or a ``.env`` file.

Settings are never read into module globals at import time: call :func:`get_settings` (cached) so that tests and
commands can point the node at another database by setting the environment first.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator
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
    signing_key: str | None = Field(None, description="Ed25519 private key (PEM or base64url 32-byte seed) for signed "
                                    "documents; unset: derived from secret_key (fine for a sandbox, set it in "
                                    "production so that rotating secret_key does not change the signing key)")
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

    # Water quality: IS 10500 rule set (src/jaldpi/water_quality/rulesets/, docs/water_quality.md)
    wq_ruleset: str = Field("is10500_2012", description="Rule set file (without .json) in "
                            "jaldpi/water_quality/rulesets/ that judges samples")
    wq_rule_overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-node changes to the shipped IS 10500:2012 base text, keyed by parameter code (fields "
        "acceptable_min, acceptable_max, permissible_max, no_relaxation) or rule id (iron_manganese: max, enabled; "
        "sulphate_magnesium: condition_max; colour_toxic: enabled; chlorine_residual: minimum_viral_protection, "
        "consumer_end_sampling_points). Limits are decimal strings, null removes a limit. Example "
        'JALDPI_WQ_RULE_OVERRIDES=\'{"arsenic": {"permissible_max": null, "no_relaxation": true}, '
        '"iron": {"permissible_max": "1.0", "no_relaxation": false}}\'. Applied on top of wq_rule_overrides_file; '
        "the effective version string becomes IS10500:2012+overrides:<hash>")
    wq_rule_overrides_file: Path | None = Field(None, description="JSON file (or YAML when PyYAML is installed) with "
                                                "rule overrides in the same shape as wq_rule_overrides")
    wq_ftk_parameters: list[str] = Field(
        default_factory=lambda: ["ph", "turbidity", "chloride", "total_hardness", "total_alkalinity", "iron",
                                 "fluoride", "nitrate", "free_residual_chlorine", "arsenic", "h2s_vial"],
        description="Parameters a field test kit reading may report on this node (the official JJM FTK list was not "
        "found; this is the common set). h2s_vial is the presence/absence bacteriological vial")

    wq_status_period_days: int = Field(365, ge=1, description="Default look-back for village water-quality status, "
                                       "hotspots and WQ6 (days)")
    wq_chemical_interval_days: int = Field(365, ge=1, description="Every source: a chemical lab test at least this "
                                           "often (JJM: once a year)")
    wq_pre_monsoon_months: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6],
                                             description="Months counted as the pre-monsoon season; the others are "
                                             "post-monsoon (JJM: bacteriological testing once in each)")

    service_norm_lpcd: int = Field(55, ge=1, description="Service norm in litres per person per day (JJM: 55 lpcd); "
                                   "villages below it are reported as below norm")

    # Service levels (docs/service_delivery.md); the quantity norm is service_norm_lpcd
    sl_start_tolerance_minutes: int = Field(30, ge=0, le=720, description="A supply is regular when it starts within "
                                            "this many minutes of the scheduled start (either side) ...")
    sl_min_duration_share: float = Field(0.8, ge=0, le=1, description="... and lasts at least this share of the "
                                         "scheduled duration")
    sl_functional_day_share: float = Field(0.8, gt=0, le=1, description="A village is functional for a month when "
                                           "it is functional on at least this share of the month's days (days "
                                           "without a supply record count as not functional)")
    sl_chlorine_min_mg_l: float = Field(0.2, ge=0, description="Tail-end free residual chlorine on chlorinated "
                                        "supplies: at least this (mg/L) ...")
    sl_chlorine_max_mg_l: float = Field(1.0, ge=0, description="... and at most this (mg/L)")
    sl_quality_requires_test: bool = Field(False, description="When true, a village without a lab result in the "
                                           "water-quality look-back (wq_status_period_days) fails quality; by "
                                           "default only an unsafe status fails it")

    # Telemetry (SensorThings; docs/service_delivery.md)
    telemetry_timezone: str = Field("Asia/Kolkata", description="IANA time zone whose calendar day bounds the daily "
                                    "telemetry rollups (IST by default; a change applies to observations stored "
                                    "after it)")
    telemetry_future_skew_minutes: int = Field(10, ge=0, description="An observation whose phenomenon time is more "
                                               "than this many minutes after the node's clock is flagged clock_skew")
    telemetry_max_age_days: int = Field(400, ge=1, description="An observation older than this many days when "
                                        "received is flagged clock_skew (implausibly old)")
    telemetry_silent_factor: float = Field(3.0, gt=0, description="A datastream is silent when its latest "
                                           "observation is older than this many times its expected interval")
    telemetry_max_top: int = Field(1000, ge=1, description="Upper cap on $top for SensorThings collections")
    telemetry_mqtt_scope: str = Field("/", description="Jurisdiction path of the MQTT ingest principal (broker "
                                      "authentication and ACLs decide who may publish)")

    # Alerts (docs/service_delivery.md, "Alerts"); a scheme overrides these in attributes.alert_thresholds
    alert_no_supply_hours: float = Field(24, gt=0, description="no_supply: no supply (supply records or flow "
                                         "telemetry) for more than this many hours")
    alert_min_flow_m3_h: float = Field(0.1, ge=0, description="A flow_rate reading above this counts as water "
                                       "flowing (no_supply from telemetry)")
    alert_min_pressure_bar: float = Field(0.7, ge=0, description="low_pressure: latest tail-end pressure below this "
                                          "(bar; 0.7 bar ~ 7 m head)")
    alert_min_chlorine_mg_l: float = Field(0.2, ge=0, description="low_chlorine: residual chlorine below this (mg/L), "
                                           "telemetry or a chlorinated supply record's tail-end reading")
    alert_night_flow_m3_h: float = Field(1.0, ge=0, description="night_flow: minimum flow over the night window "
                                         "above this (m3/h) suggests a leak")
    alert_night_start: str = Field("01:00", pattern=r"^\d{2}:\d{2}$", description="Night window start, local time "
                                   "(telemetry_timezone)")
    alert_night_end: str = Field("04:00", pattern=r"^\d{2}:\d{2}$", description="Night window end, local time")
    alert_reservoir_max_level_m: float = Field(4.5, ge=0, description="reservoir_overflow: latest reservoir level "
                                               "above this (m)")
    alert_lookback_days: int = Field(7, ge=1, le=60, description="How far back supply records and flow telemetry "
                                     "are read when judging no_supply")

    # Code-list extensions (docs/standard.md, "Code-list extensions")
    codelist_reload_seconds: float = Field(30.0, ge=0, description="A code that is not in this node's code lists "
                                           "makes the node re-read the national extensions, at most this often "
                                           "(seconds; another server process or a federation pull may have added "
                                           "it); 0: on every such miss")

    # Federation (docs/federation.md)
    federation_role: str = Field("standalone", pattern="^(standalone|state|national)$",
                                 description="standalone (no federation; the node changes all it holds), state (owns "
                                 "the records under federation_jurisdiction, pushes them to the national node, pulls "
                                 "national directories) or national")
    federation_jurisdiction: str | None = Field(None, description="A state node's LGD path prefix, e.g. S28 or "
                                                "/S28/ (the state with LGD code 28)")
    federation_policy_file: Path | None = Field(None, description="JSON file replacing the shipped federation policy "
                                                "(jaldpi/federation/policy.json): what travels, who owns it, which "
                                                "fields never leave the node")
    federation_batch_size: int = Field(500, ge=1, le=10_000, description="Changes per signed message")
    federation_message_max_age_seconds: int = Field(86_400, ge=60, description="A signed message older than this is "
                                                    "refused (replay window); re-sent batches are signed afresh")
    federation_timeout_seconds: float = Field(60.0, gt=0, description="HTTP timeout of one push or pull request")
    federation_retry_seconds: float = Field(5.0, gt=0, description="Pause of `jaldpi federation sync --loop` "
                                            "between rounds and after a failed round")

    # Webhooks (docs/feed_and_webhooks.md)
    webhook_max_attempts: int = Field(8, ge=1, description="Attempts per event (the first included) before it goes "
                                      "to the subscription's dead-letter list")
    webhook_backoff_base_seconds: float = Field(2.0, ge=0, description="Retry n waits a random time up to "
                                                "base * 2**(n-1) seconds (exponential backoff, full jitter) ...")
    webhook_backoff_max_seconds: float = Field(3600.0, ge=0, description="... but never more than this (seconds)")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="A delivery not answered within this many "
                                           "seconds counts as failed")
    webhook_allow_private_targets: bool | None = Field(None, description="Accept webhook URLs on loopback, private, "
                                                       "link-local or reserved addresses; unset: allowed in "
                                                       "development and test, refused when JALDPI_ENV=production")
    webhook_batch_size: int = Field(100, ge=1, description="Events a dispatcher delivers to one subscription before "
                                    "it turns to the next")
    webhook_lease_seconds: int = Field(120, ge=1, description="A dispatcher holds a subscription for this long "
                                       "(renewed after every event); another dispatcher takes over when it expires")

    # Open data (docs/open_data.md)
    opendata_dir: Path = Field(Path("./var/opendata"), description="Where open-data releases are built "
                               "(releases/<id>/, LATEST)")
    opendata_min_cell: int = Field(10, ge=2, description="Disclosure threshold: a published count of households "
                                   "from 1 to this minus one is suppressed (with complementary suppression)")
    opendata_dp_enabled: bool = Field(True, description="Build the differentially private cross-tabulation "
                                      "household_connections_dp")
    opendata_dp_epsilon: float = Field(1.0, gt=0, le=10, description="Privacy-loss budget (epsilon) of the whole "
                                       "differentially private release; privacy unit: one household")
    opendata_dp_seed: int | None = Field(None, description="Seed of the DP noise: tests only (a seeded release is "
                                         "NOT private); refused when JALDPI_ENV=production")
    opendata_cache_seconds: int = Field(300, ge=0, description="Cache-Control max-age of open-data responses "
                                        "(seconds)")
    opendata_licence: str = Field("GODL-India", description="Licence of the open datasets (Government Open Data "
                                  "License - India)")
    opendata_keep_releases: int = Field(5, ge=1, description="Complete releases kept on disk (the oldest are "
                                        "removed after a build)")
    opendata_wq_financial_years: int = Field(3, ge=1, le=20, description="water_quality_tests: financial years "
                                             "published (the current one and the ones before it)")
    opendata_service_months: int = Field(3, ge=1, le=60, description="service_levels: calendar months published "
                                         "(the current one and the ones before it). Each month costs about 8 s "
                                         "of build time per 45,000 villages (bench/README.md): 3 keeps a state of "
                                         "1 crore households under a minute; raise it for longer history")
    opendata_publisher: str = Field("Jal Jeevan Mission, Department of Drinking Water and Sanitation",
                                    description="Publisher named in the open-data catalogue (DCAT dct:publisher, "
                                    "CKAN organization, author and maintainer)")

    # Documents (docs/documents.md)
    # -- end documents settings --

    # Notifications (docs/notifications.md)
    # -- end notifications settings --

    # Scheme progress (docs/progress.md)
    # -- end progress settings --

    # Grievances (docs/grievances.md)
    # -- end grievances settings --

    # Asset upkeep (docs/upkeep.md)
    # -- end upkeep settings --

    # Committee finances (docs/finances.md)
    # -- end finances settings --

    # Har Ghar Jal certification (docs/certification.md)
    # -- end certification settings --

    @field_validator("wq_pre_monsoon_months")
    @classmethod
    def _contiguous_months(cls, months: list[int]) -> list[int]:
        """Seasons are two contiguous runs of months within the calendar year (default Jan-Jun and Jul-Dec)."""
        ordered = sorted(set(months))
        if not ordered or ordered[0] < 1 or ordered[-1] > 12 or len(ordered) == 12:
            raise ValueError("wq_pre_monsoon_months: 1 to 11 month numbers between 1 and 12")
        if ordered != list(range(ordered[0], ordered[-1] + 1)):
            raise ValueError("wq_pre_monsoon_months must be contiguous, e.g. [1, 2, 3, 4, 5, 6]")
        return ordered

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
    def webhook_private_targets_allowed(self) -> bool:
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return self.env != "production"

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
