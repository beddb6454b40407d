"""The import kind of assistance requests (协查) received from another region's instance: its
exchange file, as docs/assistance-format.md describes it. The ID number, name and phone are
declared as for persons, with the same checks.

How a kind is declared: `fangkong.ingest.declaration`.
"""

from __future__ import annotations

from fangkong.ingest.declaration import Check, Field, Kind, Target, V, unchanged
from fangkong.ingest.kinds_registry import PERSONS, RIC_DERIVED
from fangkong.model.glossary import ContactTier, ContactVia, IdType

__all__ = ["ASSISTANCE"]

ASSISTANCE = Kind(
    "assistance",
    "Assistance requests (协查) received from another region's instance: its exchange file, as"
    " docs/assistance-format.md describes it. The identity is kept apart from the request.",
    fields=(
        Field.id("request_id", V),
        Field.time("requested_at"),
        Field.region("from_region"),
        Field(
            "to_region",
            V,
            checks=(
                Check(
                    "NOT regexp_full_match({to_region}, '[0-9]{2}0000')",
                    "to_region is a province code (2 digits and 0000)",
                ),
            ),
            ref=("region", "region_code"),
        ),
        Field.region("region_code"),
        Field("id_type", V, values=IdType),
        PERSONS.field("id_number"),  # the same GB 11643 checks as for persons
        PERSONS.field("name"),
        PERSONS.field("phone"),
        Field("tier", V, values=ContactTier),
        Field("via", V, values=ContactVia),
        Field.time("exposed_at"),
        Field("policy_id", V, required=False, optional_column=True),
    ),
    row_checks=(
        Check("{exposed_at} > {requested_at}", "exposed_at is after requested_at"),
        Check(
            "substr({region_code}, 1, 2) <> substr({to_region}, 1, 2)",
            "region_code is not in the province to_region",
        ),
    ),
    targets=(
        Target(
            "assistance_request",
            unchanged(
                "request_id",
                "requested_at",
                "from_region",
                "to_region",
                "region_code",
                "tier",
                "via",
                "exposed_at",
                "policy_id",
            ),
        ),
        Target(
            "assistance_identity",
            unchanged("request_id", "id_type", "id_number", "name", "phone"),
        ),
    ),
    key=("request_id",),
    derived=dict(RIC_DERIVED),
)
