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
    opendata_grievance_months: int = Field(12, ge=1, le=60, description="grievances: calendar months of receipt "
                                           "published (the current one and the ones before it): a year shows the "
                                           "seasons (summer shortages, monsoon turbidity); one query per build")
    opendata_publisher: str = Field("Jal Jeevan Mission, Department of Drinking Water and Sanitation",
                                    description="Publisher named in the open-data catalogue (DCAT dct:publisher, "
                                    "CKAN organization, author and maintainer)")

    # Documents (docs/documents.md)
    documents_backend: str = Field("disk", pattern="^(disk|s3)$", description="Where document bytes are kept: "
                                   "disk (documents_dir) or an S3-compatible object store (documents_s3_*; needs "
                                   "the optional extra jaldpi[s3])")
    documents_dir: Path = Field(Path("./var/documents"), description="disk backend: root of the content-addressed "
                                "store (files at ab/cd/<sha256>; temporary files in tmp/ on the same file system)")
    documents_s3_endpoint_url: str | None = Field(None, description="s3 backend: endpoint URL of the S3-compatible "
                                                  "service (MinIO, Ceph RGW, a cloud's S3); unset: AWS S3")
    documents_s3_bucket: str | None = Field(None, description="s3 backend: bucket name (must exist)")
    documents_s3_prefix: str = Field("documents/", description="s3 backend: key prefix before ab/cd/<sha256>")
    documents_s3_region: str = Field("ap-south-1", description="s3 backend: region name (ap-south-1 = Mumbai)")
    documents_s3_access_key_id: str | None = Field(None, description="s3 backend: access key id; unset: the "
                                                   "standard AWS credential chain (environment, instance role)")
    documents_s3_secret_access_key: str | None = Field(None, description="s3 backend: secret access key")
    documents_max_bytes: int = Field(200 * 1024 * 1024, ge=1, description="Largest document accepted (bytes; "
                                     "default 200 MiB: a few minutes of Gram Sabha video from a phone). The upload "
                                     "route's request-body limit is this plus documents_form_overhead_bytes")
    documents_form_overhead_bytes: int = Field(1024 * 1024, ge=0, description="Allowance (bytes) for the multipart "
                                               "boundaries and metadata fields of an upload, on top of "
                                               "documents_max_bytes")
    documents_media_types: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "photo": ["image/jpeg", "image/png", "image/webp", "image/heic"],
            "video": ["video/mp4", "video/quicktime", "video/webm", "video/3gpp"],
            "gram_sabha_resolution": ["application/pdf", "image/jpeg", "image/png"],
            "completion_certificate": ["application/pdf", "image/jpeg", "image/png"],
            "hgj_certificate": ["application/pdf", "image/jpeg", "image/png"],
            "village_action_plan": ["application/pdf", "image/jpeg", "image/png",
                                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
            "receipt": ["application/pdf", "image/jpeg", "image/png"],
            "invoice": ["application/pdf", "image/jpeg", "image/png"],
            "inspection_report": ["application/pdf", "image/jpeg", "image/png",
                                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document"],
            "other": ["application/pdf", "image/jpeg", "image/png", "image/webp", "video/mp4", "text/csv",
                      "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"],
        },
        description="Media types (IANA) accepted per document_type (code list document_types); a type missing "
        "here accepts none. No HTML, SVG or scripts by default: content is served from the node's own origin")
    documents_geotag_required: list[str] = Field(
        default_factory=lambda: ["photo"],
        description="document_types that must carry lon/lat (WGS 84 degrees): a site photo is evidence of work "
        "or an asset only with the place it was taken; a Gram Sabha video or a scanned certificate need not")
    # -- end documents settings --

    # Notifications (docs/notifications.md)
    notification_channels: dict[str, str] = Field(
        default_factory=lambda: {"sms": "file", "whatsapp": "file", "email": "file"},
        description="Channel -> backend (file | sms_http | whatsapp_cloud | smtp | a registered one), as JSON; a "
        "message to a channel not named here is refused when queued. Default: every channel to the file backend, "
        "so development and tests need no gateway")
    notifications_dir: Path = Field(Path("./var/notifications"), description="file backend: where "
                                    "<channel>.jsonl files are appended (addresses in clear: development only)")
    notifications_file_in_production: bool = Field(False, description="Allow the file backend when "
                                                   "JALDPI_ENV=production (it writes addresses in clear)")
    notification_max_attempts: int = Field(6, ge=1, description="Send attempts per message (the first included) "
                                           "before it is dead")
    notification_backoff_base_seconds: float = Field(60.0, ge=0, description="Retry n waits base * 2**(n-1) "
                                                     "seconds (exponential backoff) ...")
    notification_backoff_max_seconds: float = Field(6 * 3600.0, ge=0, description="... but never more than this "
                                                    "(seconds). Defaults: 1, 2, 4, 8, 16 minutes, then dead after "
                                                    "about half an hour of trying")
    notification_lease_seconds: int = Field(300, ge=1, description="A dispatcher holds a claimed message this long; "
                                            "if it dies meanwhile another one sends it after the lease (seconds)")
    notification_send_timeout_seconds: float = Field(15.0, gt=0, description="HTTP/SMTP timeout of one send "
                                                     "(seconds)")
    notification_sms_url: str | None = Field(None, description="sms_http: the gateway's HTTPS endpoint receiving "
                                             "a JSON POST {to, from, text, dlt_template_id}")
    notification_sms_api_key: str | None = Field(None, description="sms_http: API key sent in the header below")
    notification_sms_api_key_header: str = Field("Authorization", description="sms_http: header carrying the API "
                                                 "key; for Authorization the value is 'Bearer <key>'")
    notification_sms_sender_id: str | None = Field(None, description="sms_http: the 6-character sender id (header) "
                                                   "registered on the DLT platform (TRAI TCCCPR 2018)")
    notification_sms_dlt_entity_id: str | None = Field(None, description="sms_http: the principal entity id "
                                                       "registered on DLT (sent as dlt_entity_id when set)")
    notification_sms_dlt_template_ids: dict[str, str] = Field(
        default_factory=dict, description="sms_http: template name -> DLT content template id, as JSON; an SMS of "
        "a template without one is refused (operators cannot send unregistered content in India)")
    notification_whatsapp_base_url: str = Field("https://graph.facebook.com/v21.0", description="whatsapp_cloud: "
                                                "Graph API base URL (tests point it at a local server)")
    notification_whatsapp_phone_number_id: str | None = Field(None, description="whatsapp_cloud: the business "
                                                              "phone number id")
    notification_whatsapp_token: str | None = Field(None, description="whatsapp_cloud: bearer access token")
    notification_smtp_host: str | None = Field(None, description="smtp: server host name")
    notification_smtp_port: int = Field(587, ge=1, le=65535, description="smtp: port (587 submission with "
                                        "STARTTLS, 465 implicit TLS, 25 relay)")
    notification_smtp_starttls: bool = Field(True, description="smtp: upgrade the connection with STARTTLS")
    notification_smtp_ssl: bool = Field(False, description="smtp: implicit TLS from the start (port 465)")
    notification_smtp_user: str | None = Field(None, description="smtp: login user (no login when unset)")
    notification_smtp_password: str | None = Field(None, description="smtp: login password")
    notification_smtp_from: str = Field("jaldpi@localhost", description="smtp: From address")
    # -- end notifications settings --

    # Scheme progress (docs/progress.md)
    progress_min_photos_physical: int = Field(1, ge=0, description="Photos (documents of type photo, geotagged) a "
                                              "physical progress update must carry; 0 makes photos optional")
    progress_photo_days_after_as_of: int = Field(1, ge=0, description="Days after a physical update's as_of date a "
                                                 "photo's captured_at may fall (the photo evidences the figures on "
                                                 "that date; one day of slack for uploads after a late visit)")
    progress_central_share_pct_default: float = Field(50.0, ge=0, le=100, description="Expected Central "
                                                        "share (percent of Central + State releases) where the state "
                                                        "is not listed below. JJM: 50:50 for most states")
    progress_central_share_pct_by_state: dict[int, float] = Field(
        default_factory=lambda: {code: 90.0 for code in (1, 2, 5, 11, 12, 13, 14, 15, 16, 17, 18)}
        | {code: 100.0 for code in (4, 25, 26, 31, 35, 37, 38)},
        description="Expected Central share (percent) by state LGD code. JJM funding pattern: 90:10 for the "
                    "Himalayan and North-Eastern states (defaults: J&K 1, Himachal 2, Uttarakhand 5, Sikkim 11 and "
                    "the NE states 12-18), 100:0 for UTs (defaults: Chandigarh 4, Daman & Diu 25, DNH 26, "
                    "Lakshadweep 31, A&N 35, Ladakh 37, DNH&DD 38); Delhi and Puducherry are not confirmed and "
                    "fall to the default. A mismatch is a warning on the update, never a refusal")
    progress_share_tolerance_points: float = Field(1.0, ge=0, le=100, description="Percentage points the "
                                                     "entered Central share may differ from the expected one before "
                                                     "the update carries a funding_share warning")
    # -- end progress settings --

    # Grievances (docs/grievances.md)
    grievance_routing_file: Path | None = Field(None, description="A state's own routing table (same format as "
                                                "jaldpi/grievances/routing.json: role and LGD level per category, "
                                                "SLA hours per category, escalation chain); unset: the packaged "
                                                "table, whose SLA hours are defaults (no national figure exists)")
    grievance_auto_close_days: int = Field(7, ge=1, le=90, description="Days a resolved grievance waits for the "
                                           "citizen to confirm or reopen before it closes by itself (policy "
                                           "default, not a national norm)")
    grievance_pin_max_attempts: int = Field(5, ge=1, le=20, description="Wrong tracking PINs (6 digits) accepted "
                                            "per grievance before confirm/reopen over the web is locked (SMS from "
                                            "the complainant's number still works)")
    grievance_sms_keyword: str = Field("JAL", pattern=r"^[A-Za-z]{2,10}$", description="First word of every SMS "
                                       "to the grievance number (the keyword the gateway routes on)")
    sms_gateway_token: str | None = Field(None, description="Shared secret of the SMS gateway's inbound webhook "
                                          "(POST /sms/v1/inbound): sent as the X-Gateway-Token header, or used "
                                          "as the HMAC-SHA256 key of the X-Gateway-Signature header; unset: the "
                                          "webhook refuses every message")
    open311_anonymous_post: bool = Field(True, description="Open311 GeoReport v2: accept POST requests.json "
                                         "without api_key (citizens' apps); false: api_key must be the access "
                                         "token of an account with grievances:write")
    open311_jurisdiction_id: str | None = Field(None, description="Open311 jurisdiction_id this node answers "
                                                "for (unset: the node id)")
    # -- end grievances settings --

    # Asset upkeep (docs/upkeep.md)
    upkeep_pm_schedule_file: Path | None = Field(None, description="JSON file replacing the shipped national "
                                                 "preventive-maintenance defaults (jaldpi/upkeep/pm_schedules.json: "
                                                 "tasks, intervals in days and roles per component type)")
    upkeep_pm_grace_days: int = Field(7, ge=0, le=365, description="A PM task done up to this many days after its "
                                      "due date counts as done on time (PM compliance); policy, not a national norm")
    upkeep_repair_condition_at_or_below: int = Field(2, ge=1, le=5, description="A condition assessment at or below "
                                                     "this score (code list asset_conditions, 1 very poor ... 5 very "
                                                     "good) opens a breakdown ticket, as does needs_repair")
    upkeep_ticket_alert_kinds: list[str] = Field(
        default_factory=lambda: ["no_supply", "night_flow", "reservoir_overflow"],
        description="Alert kinds (jaldpi/alerts: no_supply, low_pressure, low_chlorine, night_flow, "
        "reservoir_overflow, silent_sensor) for which `jaldpi upkeep tickets-from-alerts` opens a breakdown ticket, "
        "one per alert")
    upkeep_report_days: int = Field(90, ge=1, le=3660, description="Default period of the MTTR / downtime report "
                                    "when no dates are given (days up to now)")
    # -- end upkeep settings --

    # Committee finances (docs/finances.md)
    finances_om_categories: list[str] = Field(
        ["electricity", "operator_salary", "chemicals", "repairs", "spares", "testing"],
        description="Codes of expenditure_categories counted as operation and maintenance (O&M) in the cost-recovery "
        "ratio (collections / O&M expenditure). JJM O&M policy: users recover at least the energy cost; no national "
        "list exists, so this is the node's choice (default: everything but 'other')")
    finances_payment_due_days: int = Field(15, ge=0, le=365, description="A month's demand falls due this many "
                                           "days after the last day of the month (days); arrears are aged from "
                                           "the due date")
    finances_reading_lookback_days: int = Field(400, ge=31, le=3660, description="Metered demand: the previous "
                                                "meter reading is looked for this many days before the month "
                                                "(days); an older one is not found and the month's first reading "
                                                "counts as the meter's opening reading")
    finances_demand_work_mem_mb: int = Field(64, ge=4, le=4096, description="PostgreSQL work_mem for the demand "
                                             "run's transaction (megabytes per sort or hash node): enough to keep a "
                                             "state's households in memory; lower it on a small server")
    finances_demand_maintenance_work_mem_mb: int = Field(
        256, ge=16, le=16384, description="PostgreSQL maintenance_work_mem for the demand run's transaction "
        "(megabytes, shared by the parallel workers of one index build): the first run of a month builds the "
        "month's partition's two indexes after filling it; below about 32 bytes a row the sorts spill to disk")
    finances_contribution_household_share_percent: float = Field(
        80.0, ge=0, le=100, description="Community contribution: share of the village's households that must "
        "contribute (percent). JJM Operational Guidelines (2019), community contribution: from at least 80% of "
        "households")
    finances_contribution_reduced_rate_percent: float = Field(
        5.0, ge=0, le=100, description="Community contribution as a percentage of the in-village capital cost for "
        "NE, Himalayan, hilly and forested villages and villages with a majority of SC/ST households (percent; JJM "
        "Operational Guidelines 2019)")
    finances_contribution_standard_rate_percent: float = Field(
        10.0, ge=0, le=100, description="Community contribution as a percentage of the in-village capital cost "
        "elsewhere (percent; JJM Operational Guidelines 2019)")
    finances_contribution_reduced_rate_states: list[int] = Field(
        [1, 2, 5, 11, 12, 13, 14, 15, 16, 17, 18, 37],
        description="LGD codes of the North-Eastern and Himalayan states and UTs whose villages all get the reduced "
        "contribution rate (J&K 1, Himachal 2, Uttarakhand 5, Sikkim 11, Arunachal 12, Nagaland 13, Manipur 14, "
        "Mizoram 15, Tripura 16, Meghalaya 17, Assam 18, Ladakh 37)")
    finances_contribution_reduced_rate_flags: list[str] = Field(
        ["hilly", "forest", "sc_st_majority", "north_eastern", "himalayan"],
        description="Keys of a village's admin-unit attributes which, when true, give the reduced contribution rate "
        "(the JJM categories: hilly, forested, SC/ST-majority; NE/Himalayan may also be flagged per village)")
    # -- end finances settings --

    # Har Ghar Jal certification (docs/certification.md)
    hgj_tap_check: str = Field("warn", pattern="^(refuse|warn)$", description="Before a village is reported Har Ghar "
                               "Jal: when the households registry holds households of the village and some have no "
                               "tap connection (has_tap_connection false), 'refuse' the report or 'warn' (record the "
                               "counts on the case and the certification record for the district to weigh; the "
                               "registry may be incomplete). Villages without household records are never refused")
    hgj_public_cache_seconds: int = Field(300, ge=0, description="Cache-Control max-age of the public Har Ghar Jal "
                                          "status and summary (seconds)")
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
