"""The open datasets a node publishes: their names, bilingual titles and column schemas.

This module is data plus small helpers; the builders (``builders.py``) produce the rows, ``disclosure.py`` protects
the household counts, ``formats.py`` writes the files. Every dataset's rows carry the LGD columns
(:data:`LGD_COLUMNS`), and every column that may be suppressed has a companion boolean ``<name>_suppressed``
column right after it (listed in ``columns``, so the published schema is exactly the file's header).

No dataset holds personal data: no names of people, phone numbers, identity numbers, collectors or actors; place
names are LGD unit names. Grievances are published as counts per block and month (``grievances``): never their text,
reference numbers or anything about the complainant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["string", "integer", "number", "date", "boolean"]

# LGD levels, top down, as they appear in the `level` column.
LEVELS = ("state", "district", "block", "gram_panchayat", "village")


@dataclass(frozen=True)
class Column:
    """One column of a dataset.

    ``household_count``: the value is a count of households and so subject to the disclosure threshold
    (``opendata_min_cell``). ``derived_from``: the value is computed from those household-count columns of the same
    row (a percentage, a status): it is suppressed whenever any of them is. ``suppressible`` columns get a companion
    ``<name>_suppressed`` boolean column.
    """

    name: str
    type: ColumnType
    title: dict[str, str]
    description: str
    unit: str | None = None
    household_count: bool = False
    derived_from: tuple[str, ...] = ()
    suppression_flag_for: str | None = None  # set on the companion `<col>_suppressed` column
    # a statistic over the `small_count_of` count of the same row (a median of durations): withheld when that count
    # is from 1 to k-1 (k = opendata_min_cell), where it would describe one or a few cases rather than a service
    small_count_of: str | None = None

    @property
    def suppressible(self) -> bool:
        return self.household_count or bool(self.derived_from) or self.small_count_of is not None


@dataclass(frozen=True)
class DatasetSpec:
    """A published dataset. ``granularity``: the LGD levels its rows are at; ``has_points``: a GeoJSON file of
    village points is published beside the table (the village rows, each at its village centroid)."""

    name: str
    title: dict[str, str]
    description: dict[str, str]
    sector: str
    granularity: list[str]
    frequency: str
    keywords: list[str]
    columns: list[Column]
    has_points: bool = False
    differential_privacy: bool = False
    # (total column, part columns) within a row that readers can add up, e.g. households = with + without tap
    row_totals: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"dataset {self.name} has no column {name}")

    @property
    def column_names(self) -> list[str]:
        return [col.name for col in self.columns]

    @property
    def household_count_columns(self) -> list[str]:
        return [col.name for col in self.columns if col.household_count]

    @property
    def derived_columns(self) -> dict[str, tuple[str, ...]]:
        return {col.name: col.derived_from for col in self.columns if col.derived_from}


def _t(en: str, hi: str) -> dict[str, str]:
    return {"en": en, "hi": hi}


def _with_flags(columns: list[Column]) -> list[Column]:
    """Insert ``<col>_suppressed`` after every suppressible column."""
    out: list[Column] = []
    for col in columns:
        out.append(col)
        if col.suppressible:
            out.append(Column(
                f"{col.name}_suppressed", "boolean",
                _t(f"{col.title['en']}: suppressed", f"{col.title['hi']}: छिपाया गया"),
                f"true when {col.name} is withheld by disclosure control (the cell is then empty, never 0)",
                suppression_flag_for=col.name))
    return out


LGD_COLUMNS = [
    Column("level", "string", _t("LGD level", "एलजीडी स्तर"),
           "state | district | block | gram_panchayat | village"),
    Column("lgd_code", "integer", _t("LGD code", "एलजीडी कोड"),
           "Local Government Directory code of the unit (unique per level)"),
    Column("name", "string", _t("Name", "नाम"), "Name of the unit as in the LGD"),
    Column("state_lgd", "integer", _t("State LGD code", "राज्य एलजीडी कोड"), "LGD code of the state"),
    Column("district_lgd", "integer", _t("District LGD code", "ज़िला एलजीडी कोड"),
           "LGD code of the district (empty at state level)"),
    Column("block_lgd", "integer", _t("Block LGD code", "ब्लॉक एलजीडी कोड"),
           "LGD code of the block (empty above block level)"),
    Column("gram_panchayat_lgd", "integer", _t("Gram panchayat LGD code", "ग्राम पंचायत एलजीडी कोड"),
           "LGD code of the gram panchayat (empty above GP level, and for villages outside any GP)"),
]

HAR_GHAR_JAL_STATUSES = ("har_ghar_jal", "in_progress", "not_started")

TAP_COVERAGE = DatasetSpec(
    name="tap_coverage",
    title=_t("Tap water coverage and Har Ghar Jal status", "नल जल कवरेज और हर घर जल स्थिति"),
    description=_t(
        "Households and households with a functional household tap connection (FHTC) per village, gram panchayat, "
        "block, district and state, with coverage percent and Har Ghar Jal status (every household has a tap "
        "connection). Household counts below the disclosure threshold are suppressed.",
        "प्रत्येक गाँव, ग्राम पंचायत, ब्लॉक, ज़िला और राज्य में परिवार और घरेलू नल कनेक्शन (FHTC) वाले परिवार, "
        "कवरेज प्रतिशत और हर घर जल स्थिति के साथ। सीमा से कम परिवार संख्याएँ छिपाई गई हैं।"),
    sector="drinking_water",
    granularity=list(LEVELS),
    frequency="daily",
    keywords=["jal jeevan mission", "har ghar jal", "fhtc", "tap connection", "coverage", "households"],
    has_points=True,
    row_totals=(("households", ("households_with_tap", "households_without_tap")),),
    columns=LGD_COLUMNS + _with_flags([
        Column("households", "integer", _t("Households", "परिवार"),
               "Households in the registry", "households", household_count=True),
        Column("households_with_tap", "integer", _t("Households with tap connection", "नल कनेक्शन वाले परिवार"),
               "Households with a functional household tap connection", "households", household_count=True),
        Column("households_without_tap", "integer", _t("Households without tap connection", "बिना नल कनेक्शन वाले परिवार"),
               "households - households_with_tap", "households", household_count=True),
        Column("coverage_percent", "number", _t("Coverage (%)", "कवरेज (%)"),
               "100 * households_with_tap / households, one decimal", "percent",
               derived_from=("households", "households_with_tap")),
    ]) + [
        Column("har_ghar_jal_status", "string", _t("Har Ghar Jal status", "हर घर जल स्थिति"),
               "Villages only: har_ghar_jal (every household has a tap connection, JJM 100% FHTC), in_progress "
               "(some), not_started (none or no household registered); empty above village level"),
        Column("villages", "integer", _t("Villages", "गाँव"), "Villages in the unit (1 for a village row)"),
        Column("villages_har_ghar_jal", "integer", _t("Har Ghar Jal villages", "हर घर जल गाँव"),
               "Villages whose status is har_ghar_jal"),
        Column("villages_in_progress", "integer", _t("Villages in progress", "प्रगति पर गाँव"),
               "Villages whose status is in_progress"),
        Column("villages_not_started", "integer", _t("Villages not started", "शुरू न हुए गाँव"),
               "Villages whose status is not_started"),
    ],
)

WATER_QUALITY_TESTS = DatasetSpec(
    name="water_quality_tests",
    title=_t("Water quality testing and contamination", "जल गुणवत्ता परीक्षण और संदूषण"),
    description=_t(
        "Water samples tested and failing per state, district and block, by kind of test (laboratory or field "
        "test kit), for the last 365 days and per financial year (April-March); per parameter: tests and "
        "exceedances of the IS 10500 limits.",
        "प्रत्येक राज्य, ज़िला और ब्लॉक में परीक्षण किए गए और विफल जल नमूने, परीक्षण के प्रकार (प्रयोगशाला या "
        "फ़ील्ड टेस्ट किट) के अनुसार, पिछले 365 दिनों और प्रत्येक वित्तीय वर्ष के लिए; प्रत्येक मानदंड के लिए "
        "परीक्षण और IS 10500 सीमा से अधिक परिणाम।"),
    sector="water_quality",
    granularity=["state", "district", "block"],
    frequency="daily",
    keywords=["water quality", "IS 10500", "contamination", "field test kit", "laboratory", "samples"],
    columns=LGD_COLUMNS + [
        Column("period", "string", _t("Period", "अवधि"),
               "last_365_days, or a financial year FY2024-25 (1 April 2024 to 31 March 2025)"),
        Column("period_start", "date", _t("Period start", "अवधि आरंभ"), "First day of the period (collection date)"),
        Column("period_end", "date", _t("Period end", "अवधि समाप्ति"), "Last day of the period (collection date)"),
        Column("test_kind", "string", _t("Kind of test", "परीक्षण का प्रकार"), "lab | field_kit"),
        Column("parameter", "string", _t("Parameter", "मानदंड"),
               "all (whole samples) or a parameter code (arsenic, fluoride, ...): rows per parameter count tests "
               "of that parameter"),
        Column("samples_tested", "integer", _t("Samples tested", "परीक्षित नमूने"),
               "parameter=all: samples with a verdict; otherwise samples with a result for the parameter",
               "samples"),
        Column("samples_failing", "integer", _t("Samples failing", "विफल नमूने"),
               "parameter=all: samples judged unsafe; otherwise results exceeding the parameter's limit",
               "samples"),
        Column("villages_affected", "integer", _t("Villages affected", "प्रभावित गाँव"),
               "Distinct villages with at least one failing sample", "villages"),
    ],
)

FUNCTIONAL_STATUSES = ("functional", "not_functional", "no_records")

SERVICE_LEVELS = DatasetSpec(
    name="service_levels",
    title=_t("Water supply service levels and functionality", "जल आपूर्ति सेवा स्तर और कार्यक्षमता"),
    description=_t(
        "Per village and month: days reported, days with supply, average litres per person per day and the "
        "functionality status of the household tap connections per the JJM norms (quantity 55 lpcd, regularity, "
        "quality); per gram panchayat, block, district and state: villages by status.",
        "प्रत्येक गाँव और माह के लिए: रिपोर्ट किए गए दिन, आपूर्ति वाले दिन, प्रति व्यक्ति प्रति दिन औसत लीटर और "
        "जेजेएम मानदंडों (55 एलपीसीडी, नियमितता, गुणवत्ता) के अनुसार कार्यक्षमता स्थिति; उच्च स्तरों पर स्थिति के "
        "अनुसार गाँव।"),
    sector="drinking_water",
    granularity=list(LEVELS),
    frequency="monthly",
    keywords=["service level", "functionality", "lpcd", "water supply", "jal jeevan mission"],
    columns=LGD_COLUMNS + [
        Column("month", "string", _t("Month", "माह"), "Calendar month, YYYY-MM"),
        Column("days_reported", "integer", _t("Days reported", "रिपोर्ट किए गए दिन"),
               "Village rows: days of the month with a supply record; higher levels: sum over villages", "days"),
        Column("days_with_supply", "integer", _t("Days with supply", "आपूर्ति वाले दिन"),
               "Village rows: days with water supplied; higher levels: sum over villages", "days"),
        Column("average_lpcd", "number", _t("Average lpcd", "औसत एलपीसीडी"),
               "Average litres per person per day on days with supply (villages: over the month; higher levels: "
               "mean of the village values)", "litres per person per day"),
        Column("functional_status", "string", _t("Functionality status", "कार्यक्षमता स्थिति"),
               "Village rows: functional | not_functional | no_records (not functional, no supply record in the "
               "month), as the service delivery module judges the month (functional on at least 80% of its days: "
               "55 lpcd, regular, safe); empty above village level"),
        Column("villages", "integer", _t("Villages", "गाँव"),
               "Villages counted: served by a commissioned scheme or with a supply record (1 for a village row)"),
        Column("villages_functional", "integer", _t("Functional villages", "कार्यशील गाँव"), "Villages functional"),
        Column("villages_not_functional", "integer", _t("Non-functional villages", "अकार्यशील गाँव"),
               "Villages not functional, with supply records"),
        Column("villages_no_records", "integer", _t("Villages without records", "बिना रिकॉर्ड के गाँव"),
               "Villages without any supply record in the month"),
        Column("functional_percent", "number", _t("Functional (%)", "कार्यशील (%)"),
               "100 * villages_functional / villages, two decimals", "percent"),
    ],
)

SCHEME_INVENTORY = DatasetSpec(
    name="scheme_inventory",
    title=_t("Water supply schemes and assets", "जल आपूर्ति योजनाएँ और परिसंपत्तियाँ"),
    description=_t(
        "Per block, district and state: schemes by type (single-village or multi-village) and lifecycle stage, "
        "and components (sources, tanks, pipelines, household tap connections, ...) by type.",
        "प्रत्येक ब्लॉक, ज़िला और राज्य में: प्रकार (एकल-गाँव या बहु-गाँव) और जीवनचक्र चरण के अनुसार योजनाएँ, "
        "और प्रकार के अनुसार घटक (स्रोत, टंकियाँ, पाइपलाइन, घरेलू नल कनेक्शन, ...)।"),
    sector="infrastructure",
    granularity=["state", "district", "block"],
    frequency="daily",
    keywords=["schemes", "assets", "infrastructure", "components", "taps"],
    columns=LGD_COLUMNS + [
        Column("asset", "string", _t("Asset", "परिसंपत्ति"), "scheme | component"),
        Column("asset_type", "string", _t("Type", "प्रकार"),
               "Scheme type (svs, mvs) or component type (source, esr, fhtc, ...), from the node's code lists"),
        Column("lifecycle_status", "string", _t("Lifecycle stage", "जीवनचक्र चरण"),
               "Schemes: planned | sanctioned | under_construction | commissioned | handed_over; empty for "
               "components"),
        Column("count", "integer", _t("Count", "संख्या"), "Schemes or components", "assets"),
        Column("functional", "integer", _t("Functional", "कार्यशील"),
               "Of which recorded as functional", "assets"),
        Column("taps", "integer", _t("Taps", "नल"),
               "Component rows of tap types (fhtc, school_connection, anganwadi_connection): same as count; "
               "otherwise 0", "taps"),
    ],
)

TAP_COMPONENT_TYPES = ("fhtc", "school_connection", "anganwadi_connection")

HOUSEHOLD_CONNECTIONS_DP = DatasetSpec(
    name="household_connections_dp",
    title=_t("Households by social category and tap connection (differentially private)",
             "सामाजिक वर्ग और नल कनेक्शन के अनुसार परिवार (विभेदक गोपनीयता)"),
    description=_t(
        "Cross-tabulation of households per district by social category and tap connection, released with "
        "differential privacy: each count has calibrated random noise added (the privacy unit is one household; "
        "epsilon in the metadata). Counts are not suppressed; small counts are noisy.",
        "प्रत्येक ज़िले में सामाजिक वर्ग और नल कनेक्शन के अनुसार परिवारों की तालिका, विभेदक गोपनीयता के साथ: "
        "प्रत्येक संख्या में नियंत्रित यादृच्छिक शोर जोड़ा गया है (गोपनीयता इकाई एक परिवार; एप्सिलॉन मेटाडेटा में)।"),
    sector="drinking_water",
    granularity=["district"],
    frequency="daily",
    keywords=["differential privacy", "social category", "tap connection", "households", "equity"],
    differential_privacy=True,
    columns=LGD_COLUMNS + [
        Column("social_category", "string", _t("Social category", "सामाजिक वर्ग"),
               "sc | st | obc | general | other | unknown (not recorded)"),
        Column("has_tap_connection", "boolean", _t("Has tap connection", "नल कनेक्शन है"),
               "Whether the households have a household tap connection"),
        Column("households_noisy", "integer", _t("Households (noisy)", "परिवार (शोरयुक्त)"),
               "True count plus discrete Laplace noise, clamped at 0", "households"),
    ],
)

GRIEVANCE_LEVELS = ("state", "district", "block")

GRIEVANCES = DatasetSpec(
    name="grievances",
    title=_t("Drinking water complaints and their resolution", "पेयजल शिकायतें और उनका समाधान"),
    description=_t(
        "Complaints about drinking water supply (no water, low pressure, dirty water, leaks, broken taps, billing, "
        "...) per block, district and state and per month of receipt: received, resolved, resolved within the "
        "service time limit, escalated, reopened by the complainant, still open, and the median resolution time, "
        "per category and in total. Counts only: no complaint text, reference number, place below the block or "
        "anything about the complainant.",
        "प्रत्येक ब्लॉक, ज़िला और राज्य में तथा प्राप्ति के प्रत्येक माह में पेयजल आपूर्ति की शिकायतें (पानी नहीं, कम "
        "दबाव, गंदा पानी, रिसाव, टूटे नल, बिल, ...): प्राप्त, हल, सेवा समय सीमा के भीतर हल, ऊपर भेजी गई, शिकायतकर्ता "
        "द्वारा दोबारा खोली गई, अभी खुली, और समाधान में लगा माध्यिका समय, श्रेणी के अनुसार और कुल। केवल संख्याएँ: शिकायत का "
        "पाठ, संदर्भ संख्या, ब्लॉक से नीचे का स्थान या शिकायतकर्ता की कोई जानकारी नहीं।"),
    sector="drinking_water",
    granularity=list(GRIEVANCE_LEVELS),
    frequency="daily",
    keywords=["grievances", "complaints", "redressal", "service level", "jal jeevan mission"],
    columns=LGD_COLUMNS + _with_flags([
        Column("month", "string", _t("Month of receipt", "प्राप्ति का माह"),
               "Calendar month (IST) in which the complaints were received, YYYY-MM"),
        Column("category", "string", _t("Category", "श्रेणी"),
               "all (every category) or a code of the grievance_categories code list (no_water, low_pressure, "
               "dirty_water, smelly_water, leak_burst, broken_tap, billing, other); category rows only where "
               "complaints were received"),
        Column("received", "integer", _t("Received", "प्राप्त"), "Complaints received in the month", "complaints"),
        Column("resolved", "integer", _t("Resolved", "हल"),
               "Of those, resolved at least once by the build date (the operator marked them resolved; confirmed, "
               "awaiting confirmation or reopened since)", "complaints"),
        Column("resolved_within_sla", "integer", _t("Resolved within time limit", "समय सीमा में हल"),
               "Of those, first resolved within the time limit set when they were received (the grievance routing "
               "table's SLA hours for the category and place)", "complaints"),
        Column("escalated", "integer", _t("Escalated", "ऊपर भेजी गई"),
               "Of those, escalated at least once (overdue, moved up the LGD hierarchy)", "complaints"),
        Column("reopened", "integer", _t("Reopened", "दोबारा खोली गई"),
               "Of those, reopened at least once by the complainant (the resolution was not accepted)", "complaints"),
        Column("open", "integer", _t("Open", "खुली"), "Of those, not closed at the build date", "complaints"),
        Column("median_resolution_hours", "number",
               _t("Median resolution time (hours)", "समाधान में लगा माध्यिका समय (घंटे)"),
               "Median of the hours from receipt to the first resolution of the resolved complaints, one decimal; "
               "withheld when fewer than opendata_min_cell complaints were resolved", "hours",
               small_count_of="resolved"),
    ]),
)

# the states of the hgj_certification workflow (src/jaldpi/certification/workflows/hgj_certification.json)
CERTIFICATION_STATUSES = ("not_reported", "reported", "resolution_uploaded", "returned", "certified", "withdrawn")
REPORTED_STATUSES = ("reported", "resolution_uploaded", "returned", "certified")

HAR_GHAR_JAL_CERTIFICATION = DatasetSpec(
    name="har_ghar_jal_certification",
    title=_t("Har Ghar Jal certification of villages", "गाँवों का हर घर जल प्रमाणन"),
    description=_t(
        "Per village: the Har Ghar Jal certification status (reported by the village water committee, Gram Sabha "
        "resolution uploaded, certified by the district) with its dates; per gram panchayat, block, district and "
        "state: villages reported and certified. Public programme information, no household data.",
        "प्रत्येक गाँव के लिए: हर घर जल प्रमाणन की स्थिति (ग्राम जल समिति द्वारा घोषित, ग्राम सभा प्रस्ताव अपलोड, "
        "ज़िले द्वारा प्रमाणित) और उसकी तारीखें; प्रत्येक ग्राम पंचायत, ब्लॉक, ज़िला और राज्य के लिए: घोषित और "
        "प्रमाणित गाँव। सार्वजनिक कार्यक्रम जानकारी, परिवारों का कोई डेटा नहीं।"),
    sector="drinking_water",
    granularity=list(LEVELS),
    frequency="daily",
    keywords=["har ghar jal", "certification", "gram sabha", "villages", "jal jeevan mission"],
    columns=LGD_COLUMNS + [
        Column("certification_status", "string", _t("Certification status", "प्रमाणन स्थिति"),
               "Village rows: not_reported | reported (by the village water committee) | resolution_uploaded (Gram "
               "Sabha resolution) | returned (sent back for correction) | certified | withdrawn; empty above "
               "village level"),
        Column("reported_on", "date", _t("Reported on", "घोषणा की तारीख"),
               "Village rows: the day (IST) the village was reported Har Ghar Jal"),
        Column("resolution_on", "date", _t("Gram Sabha resolution on", "ग्राम सभा प्रस्ताव की तारीख"),
               "Village rows: the day (IST) the Gram Sabha resolution was uploaded"),
        Column("certified_on", "date", _t("Certified on", "प्रमाणन की तारीख"),
               "Village rows: the day (IST) the village was certified"),
        Column("villages", "integer", _t("Villages", "गाँव"), "Villages in the unit (1 for a village row)", "villages"),
        Column("villages_reported", "integer", _t("Villages reported", "घोषित गाँव"),
               "Villages reported Har Ghar Jal and not withdrawn: reported, resolution_uploaded, returned or "
               "certified", "villages"),
        Column("villages_certified", "integer", _t("Villages certified", "प्रमाणित गाँव"), "Villages certified",
               "villages"),
    ],
)

DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    TAP_COVERAGE, WATER_QUALITY_TESTS, SERVICE_LEVELS, SCHEME_INVENTORY, HOUSEHOLD_CONNECTIONS_DP, GRIEVANCES,
    HAR_GHAR_JAL_CERTIFICATION)}

__all__ = ["Column", "DatasetSpec", "DATASETS", "LEVELS", "LGD_COLUMNS", "HAR_GHAR_JAL_STATUSES",
           "FUNCTIONAL_STATUSES", "TAP_COMPONENT_TYPES", "GRIEVANCE_LEVELS", "CERTIFICATION_STATUSES",
           "REPORTED_STATUSES"]
