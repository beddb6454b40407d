"""Signing the codes of a whole city: a Polars frame of code facts in, QR texts out.

Each code needs its own ECDSA signature, so the work per code is a call into OpenSSL; the loop
around it is kept to splicing the code's values into the claims encoded once for the issuance
(`issue.CodeClaims`), the COSE parts written once for the key (`cose.Sign1Writer`), and zlib;
the Base45 of a whole chunk is done at once (NumPy, `base45.encode_many`). Chunks go to worker
processes (one per core asked for), each holding the signer key it was started with.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import polars as pl
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fangkong.credential import base45
from fangkong.credential.cose import Sign1Writer
from fangkong.credential.envelope import Prefix, compress
from fangkong.credential.issue import CodeClaims, protected_header
from fangkong.credential.keys import Signer
from fangkong.errors import InputError
from fangkong.model.glossary import CodeColour

__all__ = ["FACT_COLUMNS", "sign_codes"]

# The columns the colour derivation hands over, one row per person.
FACT_COLUMNS: dict[str, pl.DataType] = {
    "subject": pl.String(),  # pseudonymous subject identifier (healthcode.pseudonym)
    "colour": pl.Enum([c.value for c in CodeColour]),
    "reasons": pl.List(pl.String()),  # CodeReason values
    "policy_id": pl.String(),
}

_worker: tuple[Sign1Writer, CodeClaims] | None = None


def _start_worker(
    key_pem: bytes, cert: bytes, region: str, issued_at: int, validity_hours: int
) -> None:
    global _worker  # noqa: PLW0603 — one signer per worker process, set once at its start
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    writer = Sign1Writer(key, protected_header(Signer(key, cert)))
    _worker = (writer, CodeClaims(region, issued_at, validity_hours))


def _sign_chunk(rows: tuple[list[str], list[str], list[list[str]], list[str]]) -> list[str]:
    assert _worker is not None
    writer, claims = _worker
    message, encode = writer.message, claims.encode
    compressed = [
        compress(message(encode(subject, colour, tuple(reasons), policy)))
        for subject, colour, reasons, policy in zip(*rows, strict=True)
    ]
    prefix = Prefix.FANGKONG.value
    return [prefix + text for text in base45.encode_many(compressed)]


def _chunks(
    facts: pl.DataFrame, size: int
) -> Iterator[tuple[list[str], list[str], list[list[str]], list[str]]]:
    for frame in facts.iter_slices(size):
        yield (
            frame["subject"].to_list(),
            frame["colour"].cast(pl.String).to_list(),
            frame["reasons"].to_list(),
            frame["policy_id"].to_list(),
        )


def sign_codes(
    facts: pl.DataFrame,
    *,
    signer: Signer,
    region: str,
    issued_at: int,
    validity_hours: int,
    workers: int = 1,
    chunk_rows: int = 20_000,
) -> pl.Series:
    """The QR text of each row's code (a String series named `code`, in row order)."""
    missing = [c for c in FACT_COLUMNS if c not in facts.columns]
    if missing:
        raise InputError(f"code facts: missing column(s) {', '.join(missing)}")
    facts = facts.select(
        [pl.col(name).cast(dtype, strict=True) for name, dtype in FACT_COLUMNS.items()]
    )
    key_pem = signer.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    init = (key_pem, signer.certificate_der, region, issued_at, validity_hours)
    texts: list[str] = []
    if workers <= 1:
        _start_worker(*init)
        for rows in _chunks(facts, chunk_rows):
            texts.extend(_sign_chunk(rows))
    else:
        with multiprocessing.get_context("fork").Pool(workers, _start_worker, init) as pool:
            for part in pool.imap(_sign_chunk, _chunks(facts, chunk_rows)):
                texts.extend(part)
    return pl.Series("code", texts, dtype=pl.String)
