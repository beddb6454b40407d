"""Base45 (RFC 9285), the text encoding of the DCC's QR payload and of fangkong's codes.

Every two bytes become three characters of the QR alphanumeric set (a last odd byte becomes
two), so that the QR code can use its dense alphanumeric mode. Encoding works on NumPy arrays,
a batch of codes of equal length at once, because the bulk signer encodes millions of codes;
decoding one text works on Python integers (see `decode`), because the verifier's budget per
code is a few microseconds and a NumPy call costs about one.
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
# The three characters of every two-byte value, looked up (one gather instead of two divisions
# per pair: the bulk signer encodes millions of codes). Each entry is four bytes, the three
# characters and a zero, read as one uint32 (a gather of 4-byte items is several times faster
# than one of 3-byte rows), and the table is indexed by the pair's bytes read little-endian, so
# that the data is viewed as uint16 without a byte-swapped copy.
_LITTLE = np.arange(0x10000)
_BIG = (_LITTLE & 0xFF) << 8 | _LITTLE >> 8  # the value of the pair whose bytes read _LITTLE
_PAIR_CHARS = np.zeros((0x10000, 4), dtype=np.uint8)
for _position, _digit in enumerate((_BIG % 45, _BIG // 45 % 45, _BIG // 2025)):
    _PAIR_CHARS[:, _position] = _ALPHABET_BYTES[_digit]
_PAIR_WORDS = _PAIR_CHARS.view("<u4").ravel()


def _refuse(message: str) -> CredentialError:
    return CredentialError(Refusal.BAD_BASE45, message)


def _group_masks(groups: int) -> tuple[int, int]:
    """For `decode`: 0xFF in the last byte of each of `groups` 24-bit groups, and in the first."""
    low = int.from_bytes(b"\0\0\xff" * groups, "big")
    return low, low << 16


# the masks of the longest QR text (4,296 characters), made once: an AND with a mask longer than
# the number reads only the number's bits, so they serve every text up to that length
_QR_GROUPS = 1432
_QR_MASKS = _group_masks(_QR_GROUPS)


def decode(text: str) -> bytes:
    """The bytes a Base45 text stands for; CredentialError(BAD_BASE45) if it is not Base45.

    All groups at once in one Python integer: the character values (0..44) of the whole text,
    read as one big-endian number, hold group g in 24 bits as c0 * 2^16 + c1 * 2^8 + c2; the
    masked shifts pick each group's c0, c1 and c2 into the low byte of its 24 bits, and
    c0 + 45 c1 + 2025 c2 (at most 91,124: no carry into the next group) is the group's value,
    which must stay below 2^16. Written out big-endian, every group's 3 bytes are 0, high, low:
    dropping the zero bytes gives the output. A dozen integer operations on a 400-character text
    cost about 3 µs, the NumPy calls this took before about 5."""
    try:
        values = text.encode("ascii").translate(_TO_VALUE)
    except UnicodeEncodeError:
        raise _refuse("a character outside the Base45 alphabet") from None
    if b"\xff" in values:
        raise _refuse(f"character {values.index(255) + 1} is outside the Base45 alphabet")
    groups, rest = divmod(len(values), 3)
    if rest == 1:
        raise _refuse("the length leaves a single character, which encodes nothing")
    low, high = _QR_MASKS if groups <= _QR_GROUPS else _group_masks(groups)
    number = int.from_bytes(values[: groups * 3], "big")
    sums = (number >> 16 & low) + 45 * (number >> 8 & low) + 2025 * (number & low)
    if sums & high:
        raise _refuse("a three-character group exceeds two bytes")
    out = bytearray(sums.to_bytes(groups * 3, "big"))
    del out[::3]  # each group's leading zero byte
    if rest:
        last = values[-2] + values[-1] * 45
        if last > 0xFF:
            raise _refuse("the final two-character group exceeds one byte")
        out.append(last)
    return bytes(out)


def _encode_equal(joined: bytes, count: int, length: int, prefix: bytes) -> np.ndarray:
    """The characters (a count x width matrix of ASCII codes, each row starting with `prefix`)
    of `count` byte strings of one `length`, concatenated in `joined`."""
    pairs = length // 2
    start = len(prefix)
    chars = np.empty((count, start + pairs * 3 + (2 if length % 2 else 0)), dtype=np.uint8)
    chars[:, :start] = np.frombuffer(prefix, dtype=np.uint8)
    rows = np.frombuffer(joined, dtype=np.uint8).reshape(count, length)
    if pairs:
        words = _PAIR_WORDS[rows[:, : pairs * 2].view("<u2")].view(np.uint8)
        words = words.reshape(count, pairs, 4)
        triples = chars[:, start : start + pairs * 3].reshape(count, pairs, 3)  # a view
        for position in range(3):  # one character of every pair at a time: long inner loops
            triples[:, :, position] = words[:, :, position]
    if length % 2:
        last = rows[:, -1]
        chars[:, -2] = _ALPHABET_BYTES[last % 45]
        chars[:, -1] = _ALPHABET_BYTES[last // 45]
    return chars


def encode_many(items: Sequence[bytes], prefix: bytes = b"") -> tuple[bytes, np.ndarray]:
    """`prefix` + the Base45 of each byte string, in order, as one ASCII buffer and the end
    offset of each text in it (int64). The strings of one length are encoded together; the
    buffer is what a bulk signer hands on (an Arrow string column) without a Python string per
    text."""
    by_length: defaultdict[int, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        by_length[len(item)].append(index)
    lengths = np.zeros(len(items), dtype=np.int64)
    pieces: list[bytes] = [b""] * len(items)
    for length, indexes in by_length.items():
        chars = _encode_equal(b"".join([items[i] for i in indexes]), len(indexes), length, prefix)
        width = chars.shape[1]
        lengths[indexes] = width
        flat = chars.tobytes()
        if len(by_length) == 1:  # texts of one length: the matrix is the buffer, in order
            return flat, np.cumsum(lengths)
        for row, index in enumerate(indexes):
            pieces[index] = flat[row * width : (row + 1) * width]
    return b"".join(pieces), np.cumsum(lengths)


def encode(data: bytes) -> str:
    """Base45 of one byte string."""
    return encode_many([data])[0].decode("ascii")
