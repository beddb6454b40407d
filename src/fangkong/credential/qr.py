"""QR images of codes (segno) and reading them back (zxing-cpp).

A code's text is all in the QR alphanumeric set (Base45 was chosen for that), so segno encodes
it in alphanumeric mode; error correction level Q as the DCC recommends. Reading uses zxing-cpp
(a maintained C++ decoder with wheels on PyPI) on the image loaded by Pillow.
"""

from __future__ import annotations

import io
from pathlib import Path

import segno
import zxingcpp
from PIL import Image, UnidentifiedImageError

from fangkong.credential.refusal import Refusal
from fangkong.errors import CredentialError

__all__ = ["read_qr", "write_qr"]

_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def write_qr(text: str, path: Path, *, scale: int = 4) -> None:
    """Write the QR code of `text` to `path` (PNG or SVG, by the file's suffix)."""
    segno.make(text, error="q", micro=False, boost_error=False).save(str(path), scale=scale)


def read_qr(image: bytes) -> str:
    """The text of the (first) QR code in an image; CredentialError(UNREADABLE_IMAGE)."""
    try:
        with Image.open(io.BytesIO(image)) as picture:
            picture.load()
            found = zxingcpp.read_barcodes(picture.convert("L"), formats=_QR_ONLY)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise CredentialError(Refusal.UNREADABLE_IMAGE, "not a readable image") from None
    for barcode in found:
        if barcode.valid and barcode.text:
            return barcode.text
    raise CredentialError(Refusal.UNREADABLE_IMAGE, "no QR code could be read in the image")
