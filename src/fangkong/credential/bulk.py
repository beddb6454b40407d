"""Signing the codes of a whole city: a Polars frame of code facts in, QR texts out.

Each code needs its own ECDSA signature, so the work per code is a call into OpenSSL; the loop
around it is kept to splicing the code's values into the claims encoded once for the issuance
(`issue.CodeClaims`), the COSE parts written once for the key (`cose.Sign1Writer`), and zlib;
the Base45 of a whole chunk is done at once (NumPy, `base45.encode_many`). Chunks go to worker
processes (one per core asked for), each holding the signer key it was started with.

On two cores the parent shares the CPU with the two workers, so what it does per code is taken
from the signing; it hands over buffers, not Python objects per value:
- in: a chunk is its subjects and, per row, the index of its kind — its (colour, reasons,
  policy), of which a city has a handful — in the table of kinds each worker gets when it
  starts. Turning every row's list of reasons into Python lists (and pickling and unpickling
  them) cost more than 1 µs a code, about 7% of a signature.
- out: a chunk comes back as one ASCII buffer of its QR texts and their end offsets, which
  become an Arrow string column, not as a Python string per code pickled back and forth.
Chunks are small, so that the workers run out of work together: with chunks of 20,000 codes
(ten for 200,000 codes), the worker done first could wait up to a chunk's time (0.3 s) for the
other's last one.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator

import numpy as np
import polars as pl
import pyarrow as pa
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

# what makes codes differ besides their subject: colour, reasons and policy
Kind = tuple[str, tuple[str, ...], str]
# a chunk of rows: the subjects, and the index of each row's kind in the table of kinds
Chunk = tuple[list[str], np.ndarray]
# a chunk's QR texts: one ASCII buffer and the end offset of each text in it
Texts = tuple[bytes, np.ndarray]

_worker: tuple[Sign1Writer, CodeClaims, list[Kind]] | None = None


def _start_worker(
    key_pem: bytes, cert: bytes, region: str, issued_at: int, validity_hours: int, kinds: list[Kind]
) -> None:
    global _worker  # noqa: PLW0603 — one signer per worker process, set once at its start
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    writer = Sign1Writer(key, protected_header(Signer(key, cert)))
    _worker = (writer, CodeClaims(region, issued_at, validity_hours), kinds)


def _sign_chunk(chunk: Chunk) -> Texts:
    assert _worker is not None
    writer, claims, kinds = _worker
    message, encode = writer.message, claims.encode
    subjects, kind_of = chunk
    compressed = [
        compress(message(encode(subject, *kinds[kind])))
        for subject, kind in zip(subjects, kind_of.tolist(), strict=True)
    ]
    return base45.encode_many(compressed, Prefix.FANGKONG.value.encode("ascii"))


def _kinds(facts: pl.DataFrame) -> tuple[pl.DataFrame, list[Kind]]:
    """`facts` with a `kind` column (0, 1, ...: the rank of its colour, reasons and policy),
    and the table of kinds in that order."""
    facts = facts.with_columns(
        kind=pl.struct("colour", "reasons", "policy_id").rank("dense").cast(pl.Int64) - 1
    )
    table = facts.unique("kind").sort("kind").select("colour", "reasons", "policy_id")
    kinds = [
        (str(colour), tuple(reasons), policy)
        for colour, reasons, policy in table.cast({"colour": pl.String}).iter_rows()
    ]
    return facts, kinds


def _chunks(facts: pl.DataFrame, size: int) -> Iterator[Chunk]:
    for frame in facts.iter_slices(size):
        yield frame["subject"].to_list(), frame["kind"].to_numpy()


def _column(parts: list[Texts]) -> pl.Series:
    """The QR texts of the chunks, in order, as a String series named `code`."""
    arrays = [
        pa.Array.from_buffers(
            pa.large_string(),
            len(ends),
            [None, pa.py_buffer(np.concatenate(([0], ends))), pa.py_buffer(data)],
        )
        for data, ends in parts
    ]
    column = pl.from_arrow(pa.chunked_array(arrays, type=pa.large_string()))
    assert isinstance(column, pl.Series)
    return column.alias("code").cast(pl.String)


def sign_codes(
    facts: pl.DataFrame,
    *,
    signer: Signer,
    region: str,
    issued_at: int,
    validity_hours: int,
    workers: int = 1,
    chunk_rows: int = 2_500,
) -> pl.Series:
    """The QR text of each row's code (a String series named `code`, in row order)."""
    missing = [c for c in FACT_COLUMNS if c not in facts.columns]
    if missing:
        raise InputError(f"code facts: missing column(s) {', '.join(missing)}")
    facts, kinds = _kinds(
        facts.select(
            [pl.col(name).cast(dtype, strict=True) for name, dtype in FACT_COLUMNS.items()]
        )
    )
    key_pem = signer.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    init = (key_pem, signer.certificate_der, region, issued_at, validity_hours, kinds)
    if workers <= 1:
        _start_worker(*init)
        return _column([_sign_chunk(chunk) for chunk in _chunks(facts, chunk_rows)])
    with multiprocessing.get_context("fork").Pool(workers, _start_worker, init) as pool:
        return _column(list(pool.imap(_sign_chunk, _chunks(facts, chunk_rows))))
