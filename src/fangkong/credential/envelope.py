"""The text layers around a COSE message: prefix, Base45, zlib (the DCC's, unchanged).

    text = PREFIX + Base45(zlib(COSE_Sign1))

fangkong's own codes carry the prefix `FK1:` (our choice: "HC1:" belongs to the EU DCC, and a
scanner must know from the first characters which payload to expect); EU DCCs carry `HC1:`.
A text without either prefix is refused (DCC vectors H1–H3). Decompression is bounded, so a
crafted stream cannot make the verifier allocate without limit.
"""

from __future__ import annotations

import zlib
from enum import StrEnum

from fangkong.credential import base45
from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = ["MAX_COSE_BYTES", "Prefix", "compress", "decompress", "unprefix", "unwrap", "wrap"]

MAX_COSE_BYTES = 64 * 1024  # far above any QR code's capacity (under 3 kB of data)


class Prefix(StrEnum):
    """Which payload a code carries, by the prefix of its text."""

    FANGKONG = "FK1:"  # a fangkong health code
    DCC = "HC1:"  # an EU Digital COVID Certificate


_PREFIXES = {prefix.value: prefix for prefix in Prefix}  # all four characters long


def unprefix(text: str) -> tuple[Prefix, str]:
    """The prefix and the Base45 text after it; CredentialError(BAD_PREFIX) if neither."""
    prefix = _PREFIXES.get(text[:4])
    if prefix is not None:
        return prefix, text[4:]
    raise CredentialError(Refusal.BAD_PREFIX, "the text starts with neither FK1: nor HC1:")


def compress(cose: bytes) -> bytes:
    """A zlib stream of stored (uncompressed) blocks, as `zlib.compress(cose, 0)` writes it.

    Why not deflate: a code's COSE message is about 250 bytes, mostly a signature and hex
    digests that do not compress (level 9 takes 11%: 218 bytes instead of 256), and deflating
    so little costs 7-13 microseconds a code in zlib's set-up, more than half an ECDSA
    signature. The price is a larger QR code: about 390 Base45 characters instead of 331,
    version 15 instead of 13 at error correction Q. The DCC's layers ask only for a zlib
    stream, and every zlib reader inflates a stored one.

    Below 64 kB (zlib writes one stored block: every code) the stream is written here — header, the
    block's length and its complement, the bytes, the Adler-32 — because zlib's own set-up of
    a level-0 stream still allocates its full state (a test checks the bytes are zlib's)."""
    n = len(cose)
    if n > _ONE_BLOCK:
        return zlib.compress(cose, 0)
    return (
        _STORED_HEAD
        + n.to_bytes(2, "little")
        + (n ^ 0xFFFF).to_bytes(2, "little")
        + cose
        + zlib.adler32(cose).to_bytes(4, "big")
    )


# zlib header (deflate, 32 kB window, no dictionary, fastest: level 0), then the head of a final
# stored block (BFINAL = 1, BTYPE = 00)
_STORED_HEAD = b"\x78\x01\x01"
_ONE_BLOCK = 65531  # the longest input zlib writes as one stored block (its buffer's margin)


def decompress(data: bytes) -> bytes:
    """Inflate a complete zlib stream of at most MAX_COSE_BYTES; BAD_COMPRESSION otherwise."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, MAX_COSE_BYTES + 1)
    except zlib.error:
        raise CredentialError(Refusal.BAD_COMPRESSION, "not a zlib stream") from None
    if len(out) > MAX_COSE_BYTES:
        raise CredentialError(Refusal.BAD_COMPRESSION, "inflates past the size of any code")
    if not inflater.eof:
        raise CredentialError(Refusal.BAD_COMPRESSION, "the zlib stream is truncated")
    return out


def wrap(cose: bytes, prefix: Prefix) -> str:
    """The QR text of a COSE message."""
    return prefix.value + base45.encode(compress(cose))


def unwrap(text: str) -> tuple[Prefix, bytes]:
    """The prefix and the COSE bytes of a QR text.

    Liberal: a payload that is not compressed but is plainly a COSE message (it starts with the
    COSE_Sign1 or CWT tag, or a four-item array) is taken as it is, as several issuers did.
    """
    prefix, body = unprefix(text.strip())
    data = base45.decode(body)
    if data[:1] in (b"\xd2", b"\xd8", b"\x84"):
        return prefix, data
    return prefix, decompress(data)
