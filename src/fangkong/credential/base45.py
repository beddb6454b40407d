"""Base45 (RFC 9285), the text encoding of the DCC's QR payload and of fangkong's codes.

Every two bytes become three characters of the QR alphanumeric set (a last odd byte becomes
two), so that the QR code can use its dense alphanumeric mode. Encoding and decoding work on
NumPy arrays — a batch of codes of equal length at once — because the bulk signer encodes
millions of codes and the verifier's budget per code is a few microseconds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = ["ALPHABET", "decode", "encode", "encode_many"]

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
_INVALID = 255
# bytes.translate table: a character's value 0..44, every other byte 255.
_TO_VALUE = bytes(ALPHABET.find(chr(c)) if chr(c) in ALPHABET else _INVALID for c in range(256))
_WEIGHTS = np.array([1.0, 45.0, 2025.0])
# the three characters of every two-byte value, looked up (one gather instead of two divisions
# per pair: the bulk signer encodes millions of codes)
_VALUES = np.arange(0x10000)
_PAIR_CHARS = _ALPHABET_BYTES[np.stack((_VALUES % 45, _VALUES // 45 % 45, _VALUES // 2025), axis=1)]


def _refuse(message: str) -> CredentialError:
    return CredentialError(Refusal.BAD_BASE45, message)


def decode(text: str) -> bytes:
    """The bytes a Base45 text stands for; CredentialError(BAD_BASE45) if it is not Base45."""
    try:
        values = text.encode("ascii").translate(_TO_VALUE)
    except UnicodeEncodeError:
        raise _refuse("a character outside the Base45 alphabet") from None
    if b"\xff" in values:
        raise _refuse(f"character {values.index(255) + 1} is outside the Base45 alphabet")
    full, rest = divmod(len(values), 3)
    if rest == 1:
        raise _refuse("the length leaves a single character, which encodes nothing")
    # in float64 (exact: at most 44 * 2026), which NumPy multiplies through BLAS in one call
    groups = np.frombuffer(values, dtype=np.uint8, count=full * 3).reshape(full, 3)
    numbers = groups @ _WEIGHTS
    if np.count_nonzero(numbers > 0xFFFF):  # a reduction's set-up (max) costs more than this
        raise _refuse("a three-character group exceeds two bytes")
    out: bytes = numbers.astype(">u2").tobytes()  # big-endian: the first byte is the high one
    if rest:
        last = values[-2] + values[-1] * 45
        if last > 0xFF:
            raise _refuse("the final two-character group exceeds one byte")
        out += bytes((last,))
    return out


def _encode_equal(joined: bytes, count: int, length: int) -> list[str]:
    """Base45 of `count` byte strings of one `length`, concatenated in `joined`."""
    pairs = length // 2
    width = pairs * 3 + (2 if length % 2 else 0)
    chars = np.empty((count, width), dtype=np.uint8)
    rows = np.frombuffer(joined, dtype=np.uint8).reshape(count, length)
    if pairs:
        numbers = rows[:, : pairs * 2].copy().view(">u2")
        chars[:, : pairs * 3] = _PAIR_CHARS[numbers].reshape(count, pairs * 3)
    if length % 2:
        last = rows[:, -1]
        chars[:, -2] = _ALPHABET_BYTES[last % 45]
        chars[:, -1] = _ALPHABET_BYTES[last // 45]
    flat = chars.tobytes().decode("ascii")
    return [flat[i * width : (i + 1) * width] for i in range(count)]


def encode_many(items: Sequence[bytes]) -> list[str]:
    """Base45 of each byte string, in order; the strings of one length are encoded together."""
    by_length: defaultdict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_length[len(item)].append(index)
    out: list[str] = [""] * len(items)
    for length, indexes in by_length.items():
        if length == 0:
            continue
        joined = b"".join([items[i] for i in indexes])
        texts = _encode_equal(joined, len(indexes), length)
        for index, text in zip(indexes, texts, strict=True):
            out[index] = text
    return out


def encode(data: bytes) -> str:
    """Base45 of one byte string."""
    return encode_many([data])[0]
