"""The border's check of arrivals' foreign certificates (EU Digital COVID Certificates).

An arrival may carry the QR text of the certificate the traveller showed (`arrival.certificate`,
`HC1:...`). The run of a day checks the certificates of the arrivals it takes (those of the day,
and earlier ones new to the run: `border.run_arrivals`) with the credential package's verifier
(`fangkong.credential.Verifier`: signature, key id and trusted country, expiry, EU schema, the
signer's key usage, revocation), at the moment of arrival, and stores one `certificate_check` row
per arrival in its scenario: `valid` (with the certificate's kind, v / t / r, and its issuing
country), `refused` (with the typed `Refusal`), or `unchecked` when the run was given no trust
material (the command centre has not imported the EU signer certificates). A refused
certificate changes no order: inbound quarantine does not depend on it under any regime encoded;
it is shown by `fangkong explain`, for the officer at the port to act on.
"""

from __future__ import annotations

import logging
from datetime import date

import polars as pl

from fangkong.credential.verify import Verifier
from fangkong.engine.border import run_arrivals
from fangkong.engine.orders import TIME
from fangkong.engine.scenario import Scenario, Watermarks
from fangkong.errors import CredentialError
from fangkong.model.glossary import CertificateCheck
from fangkong.store.base import Store

__all__ = ["CHECK_SCHEMA", "check_certificates", "store_certificate_checks"]

log = logging.getLogger(__name__)

CHECK_SCHEMA: dict[str, pl.DataType] = {
    "arrival_id": pl.String(),
    "person_id": pl.Int64(),
    "checked_at": TIME,
    "result": pl.String(),
    "refusal": pl.String(),
    "issuer": pl.String(),
    "dcc_kind": pl.String(),
    "detail": pl.String(),
}


def _check(
    verifier: Verifier | None, text: str, at: float
) -> tuple[str, ...] | tuple[str | None, ...]:
    if verifier is None:
        return (CertificateCheck.UNCHECKED.value, None, None, None, "no trust material given")
    try:
        code = verifier.verify(text, at=at)
    except CredentialError as exc:
        return (CertificateCheck.REFUSED.value, exc.reason.value, None, None, exc.detail)
    return (CertificateCheck.VALID.value, None, code.issuer, code.dcc_kind, None)


def check_certificates(arrivals: pl.DataFrame, verifier: Verifier | None) -> pl.DataFrame:
    """One CHECK_SCHEMA row per arrival of `arrivals` (arrival_id, person_id, arrived_at,
    certificate) that carries a certificate, checked at its arrival."""
    carried = arrivals.filter(pl.col("certificate").is_not_null())
    rows = [
        (arrival, person, arrived, *_check(verifier, text, arrived.timestamp()))
        for arrival, person, arrived, text in carried.select(
            "arrival_id", "person_id", "arrived_at", "certificate"
        ).iter_rows()
    ]
    return pl.DataFrame(rows, schema=CHECK_SCHEMA, orient="row")


def store_certificate_checks(
    store: Store,
    day: date,
    *,
    scenario: Scenario,
    marks: Watermarks,
    verifier: Verifier | None,
) -> pl.DataFrame:
    """Check the certificates of the run's arrivals and store the results (replacing an earlier
    run's of the day, in `scenario`, which `run_day` deletes first). Called by `run_day` in its
    transaction."""
    checks = check_certificates(run_arrivals(store, day, marks), verifier)
    if checks.height:
        refused = checks.filter(pl.col("result") == CertificateCheck.REFUSED.value).height
        log.info("%s: %d foreign certificates checked, %d refused", day, checks.height, refused)
        store.insert_frame(
            "certificate_check",
            checks.select(
                pl.lit(scenario.name).alias("scenario"), pl.lit(day).alias("run_day"), "*"
            ),
        )
    return checks
