"""The import kinds of events that tracing, the border and the health codes read: venue-code
check-ins, domestic trips, arrivals from abroad, vaccinations, contacts declared by a case or
found in field investigation, fever-clinic visits and symptom reports.

How a kind is declared: `fangkong.ingest.declaration`.
"""

from __future__ import annotations

from fangkong.ingest.declaration import DATE, Check, D, Field, Kind, S, V
from fangkong.model.glossary import Setting, Symptom, SymptomObserver

__all__ = [
    "ARRIVALS",
    "CHECKINS",
    "CONTACTS",
    "FEVER_CLINIC_VISITS",
    "SYMPTOM_REPORTS",
    "TRIPS",
    "VACCINATIONS",
]

_SEAT_ROW = Field(
    "seat_row",
    S,
    required=False,
    optional_column=True,
    checks=(Check("{seat_row} < 1 OR {seat_row} > 120", "a seat row is 1 to 120"),),
)

CHECKINS = Kind.one_table(
    "checkins",
    "Venue-code scans (场所码), each with the scan id the venue-code service gave it. Not checked"
    " against the person registry: visitors from other regions scan venue codes too.",
    table="checkin",
    fields=(
        Field.id("scan_id"),
        Field.id("person_id"),
        Field.id("venue_id", ref=("venue", "venue_id")),
        Field.time("checkin_at"),
        Field.time("checkout_at", required=False, optional_column=True),
    ),
    row_checks=(Check("{checkout_at} < {checkin_at}", "checkout_at is before checkin_at"),),
    key=("scan_id",),
)

VACCINATIONS = Kind.one_table(
    "vaccinations",
    "Vaccine doses.",
    table="vaccination",
    fields=(
        Field.person("person_id"),
        Field("dose", S, checks=(Check("{dose} < 1 OR {dose} > 10", "dose is 1 to 10"),)),
        Field.time("vaccinated_at"),
        Field("product", V, required=False, optional_column=True),
    ),
    key=("person_id", "dose"),
)

CONTACTS = Kind.one_table(
    "contacts",
    "Declared contacts: named by a case or found in field investigation.",
    table="declared_contact",
    fields=(
        Field.person("person_id"),
        Field.person("contact_person_id"),
        Field("setting", V, values=Setting),
        Field.time("last_contact_at"),
        Field.time("first_contact_at", required=False, optional_column=True),
    ),
    row_checks=(
        Check(
            "{first_contact_at} > {last_contact_at}", "first_contact_at is after last_contact_at"
        ),
        Check("{person_id} = {contact_person_id}", "a person is not their own contact"),
    ),
    key=("person_id", "contact_person_id", "last_contact_at"),
)

ARRIVALS = Kind.one_table(
    "arrivals",
    "Inbound travellers at a port of entry.",
    table="arrival",
    fields=(
        Field.id("arrival_id", V),
        Field.id("person_id"),
        Field.time("arrived_at"),
        Field.region("port_region_code"),
        Field(
            "origin_country",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({origin_country}, '[A-Z]{2}')",
                    "a country is its ISO 3166 alpha-2 code",
                ),
            ),
        ),
        Field("flight", V, required=False, optional_column=True),
        _SEAT_ROW,
        Field.region("destination_region_code", required=False, optional_column=True),
        # the QR text of a foreign certificate (EU DCC), checked at the border step
        Field(
            "certificate",
            V,
            required=False,
            optional_column=True,
            checks=(
                Check(
                    "NOT regexp_full_match({certificate}, 'HC1:[0-9A-Z $%*+./:-]+')",
                    "a certificate is the QR text of an EU DCC: HC1: and Base45 characters",
                ),
            ),
        ),
    ),
    key=("arrival_id",),
)

TRIPS = Kind.one_table(
    "trips",
    "Domestic flights and trains taken, for co-travel tracing.",
    table="trip",
    fields=(
        Field.id("person_id"),
        Field(
            "service",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({service}, '[A-Z0-9]{2,8}')",
                    "a flight or train number is 2 to 8 capital letters and digits",
                ),
            ),
        ),
        Field("service_date", DATE),
        Field.time("departed_at"),
        _SEAT_ROW,
        Field(
            "carriage",
            S,
            required=False,
            optional_column=True,
            checks=(Check("{carriage} < 1 OR {carriage} > 40", "a carriage number is 1 to 40"),),
        ),
    ),
    row_checks=(
        Check(
            "{seat_row} IS NOT NULL AND {carriage} IS NOT NULL",
            "a trip has a seat row (a flight) or a carriage (a train), not both",
        ),
        Check(
            "CAST({departed_at} AS DATE) - {service_date} NOT BETWEEN -1 AND 1",
            "departed_at is not on the service date",
        ),
    ),
    key=("person_id", "service", "service_date"),
)

FEVER_CLINIC_VISITS = Kind.one_table(
    "fever_clinic_visits",
    "Visits to a fever clinic (发热门诊), as the clinics report them: a health-code reason.",
    table="fever_clinic_visit",
    fields=(
        Field.id("visit_id", V),
        Field.person("person_id"),
        Field.time("visited_at"),
        Field("hospital", V, required=False, optional_column=True),
    ),
    key=("visit_id",),
)

SYMPTOM_REPORTS = Kind.one_table(
    "symptom_reports",
    "Fever or respiratory symptoms of a person (发热、干咳等症状), as a health declaration, a"
    " temperature check or a clinic recorded them: a health-code reason. One row per symptom.",
    table="symptom_report",
    fields=(
        Field.id("report_id", V),
        Field.person("person_id"),
        Field.time("observed_at"),
        Field("symptom", V, values=Symptom),
        Field("observed_by", V, values=SymptomObserver),
        Field(
            "temperature",
            D,
            required=False,
            optional_column=True,
            # a reading outside what a living body shows is a unit or typing error (°F, 365)
            checks=(
                Check(
                    "{temperature} < 30 OR {temperature} > 45",
                    "a body temperature in °C lies in [30, 45]",
                ),
            ),
        ),
    ),
    key=("report_id",),
)
