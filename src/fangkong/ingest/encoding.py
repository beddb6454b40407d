"""Where a text file stops being UTF-8: the one place every reader of CSV files (imports, reports
files, the Hong Kong line list) turns a decoding failure into an error naming the line and the
field, without quoting the bytes (they may be personal data in another encoding)."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

__all__ = ["BadByte", "first_bad_byte", "not_utf8_message"]

_BLOCK = 1 << 20
# A character split between two blocks leaves at most 3 bytes undecoded at the end of the first.
_MAX_SPLIT = 3


@dataclass(frozen=True)
class BadByte:
    """The first byte of a file that is not UTF-8."""

    offset: int  # from the start of the (uncompressed) text
    byte: int
    line: int  # 1-based
    line_prefix: bytes  # the bytes of its line before it

    def column(self, delimiter: str = ",") -> int:
        """The 0-based field of a CSV line the byte falls in (a quoted field holding a line
        break is not followed back to its start)."""
        text = self.line_prefix.decode("utf-8-sig")
        # a prefix ending on the delimiter ends with the empty field the byte starts
        fields = next(csv.reader([text], delimiter=delimiter), [])
        return max(len(fields) - 1, 0)


def not_utf8_message(bad: BadByte) -> str:
    return f"not UTF-8 text (byte 0x{bad.byte:02x}): save the file as UTF-8"


def first_bad_byte(path: Path) -> BadByte | None:
    """The first byte of `path` (gzip-compressed if its name ends in .gz) that is not part of
    UTF-8 text, or None if it is all UTF-8. Reads the file once, a block at a time."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        return _scan(fh)  # type: ignore[arg-type]


def _scan(fh: BinaryIO) -> BadByte | None:
    carry = b""  # undecoded bytes of a character split between blocks
    base = 0  # offset of `carry`'s first byte
    lines = 0  # line breaks before `carry`
    prefix = b""  # the bytes of the current line before `carry`
    while True:
        block = fh.read(_BLOCK)
        data = carry + block
        if not data:
            return None
        try:
            data.decode("utf-8")
            good = len(data)
        except UnicodeDecodeError as exc:
            split = exc.reason == "unexpected end of data" and len(data) - exc.start <= _MAX_SPLIT
            if not (split and block):  # a bad byte, or a character cut off by the end
                done = data[: exc.start]
                breaks = done.count(b"\n")
                last = done.rfind(b"\n")
                return BadByte(
                    offset=base + exc.start,
                    byte=data[exc.start],
                    line=lines + breaks + 1,
                    line_prefix=prefix + done if last < 0 else done[last + 1 :],
                )
            good = exc.start
        done = data[:good]
        last = done.rfind(b"\n")
        lines += done.count(b"\n")
        prefix = prefix + done if last < 0 else done[last + 1 :]
        if len(prefix) > _BLOCK:  # a line that long is no CSV row: keep its end only
            prefix = prefix[-_BLOCK:]
        carry, base = data[good:], base + good
