"""Health-code benchmark: signing codes and verifying them offline, each beside a bare
`cryptography` ECDSA P-256 loop of the same count in the same run.

    sign     fangkong `sign_codes` (claims, COSE_Sign1 ES256, zlib, Base45, prefix) on a frame of
             code facts, with 1 worker and with 2 (processes, one per core); the bare loop signs
             the same number of messages of the same size with the same kind of key, on as many
             processes.
    verify   fangkong `Verifier.verify` on distinct QR texts (Base45, zlib, COSE, claims, trust
             lookup, ES256, payload, revocation), one core; the bare loop verifies the same
             to-be-signed bytes and signatures, converted to DER beforehand.

Each measurement runs in a fresh process, repeated; medians are printed. The count is what fits
a run here (default 200,000); the 25-million figure is extrapolated linearly from it.

    flock /tmp/fangkong-bench.lock .venv/bin/python benchmarks/codes.py [--count N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from fresh import measure, peak_rss  # noqa: E402

CITY = 25_000_000
T0 = 1_656_662_400  # 2022-07-01 08:00 UTC


def _facts(count: int) -> Any:
    import polars as pl

    from fangkong.credential.bulk import FACT_COLUMNS
    from fangkong.credential.healthcode import pseudonym

    colours = ["green"] * 18 + ["yellow", "red"]  # mostly green, as in a city
    return pl.DataFrame(
        {
            "subject": [pseudonym(b"benchmark", i) for i in range(count)],
            "colour": [colours[i % 20] for i in range(count)],
            "reasons": [[] if i % 20 < 18 else ["fever_clinic_visit"] for i in range(count)],
            "policy_id": ["cn-2022-06-28"] * count,
        },
        schema=FACT_COLUMNS,
    )


def _bare_sign_part(args: tuple[bytes, int, int]) -> int:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key_pem, start, stop = args
    key = serialization.load_pem_private_key(key_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    algorithm = ec.ECDSA(hashes.SHA256())
    body = b"x" * 180  # about the size of a code's Sig_structure
    for i in range(start, stop):
        key.sign(i.to_bytes(8, "big") + body, algorithm)
    return stop - start


def _signer(work: Path) -> Any:
    from fangkong.credential.keys import KeyStore

    return KeyStore.open(work / "keys").active()


def _run_sign(work: Path, count: int, workers: int) -> float:
    import polars as pl

    from fangkong.credential.bulk import sign_codes

    facts = pl.read_parquet(work / "facts.parquet")
    signer = _signer(work)
    start = time.perf_counter()
    codes = sign_codes(
        facts, signer=signer, region="310000", issued_at=T0, validity_hours=24, workers=workers
    )
    seconds = time.perf_counter() - start
    assert codes.len() == count
    return seconds


def _run_bare_sign(work: Path, count: int, workers: int) -> float:
    from cryptography.hazmat.primitives import serialization

    key_pem = _signer(work).key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    bounds = [count * w // workers for w in range(workers + 1)]
    parts = [(key_pem, bounds[w], bounds[w + 1]) for w in range(workers)]
    start = time.perf_counter()
    if workers == 1:
        done = _bare_sign_part(parts[0])
    else:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            done = sum(pool.map(_bare_sign_part, parts))
    seconds = time.perf_counter() - start
    assert done == count
    return seconds


def _codes(work: Path) -> list[str]:
    return (work / "codes.txt").read_text(encoding="ascii").splitlines()


def _run_verify(work: Path, count: int, workers: int) -> float:
    from fangkong.credential.revocation import load_revocations
    from fangkong.credential.trust import load_trust_store
    from fangkong.credential.verify import Verifier

    codes = _codes(work)
    verifier = Verifier(load_trust_store(work / "keys"), load_revocations(work / "keys"))
    verify = verifier.verify
    start = time.perf_counter()
    for text in codes:
        verify(text, at=T0 + 60)
    seconds = time.perf_counter() - start
    assert len(codes) == count and workers == 1
    return seconds


def _run_bare_verify(work: Path, count: int, workers: int) -> float:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    from fangkong.credential.cose import parse_sign1
    from fangkong.credential.envelope import unwrap

    pairs = []
    for text in _codes(work):  # prepared outside the timing: DER signatures, Sig_structures
        message = parse_sign1(unwrap(text)[1])
        r = int.from_bytes(message.signature[:32], "big")
        s = int.from_bytes(message.signature[32:], "big")
        pairs.append((encode_dss_signature(r, s), message.to_be_signed()))
    public = _signer(work).key.public_key()
    algorithm = ec.ECDSA(hashes.SHA256())
    start = time.perf_counter()
    for signature, data in pairs:
        public.verify(signature, data, algorithm)
    seconds = time.perf_counter() - start
    assert len(pairs) == count and workers == 1
    return seconds


_MODES = {
    "sign": _run_sign,
    "bare_sign": _run_bare_sign,
    "verify": _run_verify,
    "bare_verify": _run_bare_verify,
}


def _child(mode: str, work: Path, count: int, workers: int) -> None:
    seconds = _MODES[mode](work, count, workers)
    result = {"mode": mode, "count": count, "workers": workers, "seconds": seconds}
    result["rss"] = peak_rss()
    print(json.dumps(result))


def _prepare(work: Path, count: int) -> None:
    from datetime import UTC, datetime

    from fangkong.credential.bulk import sign_codes
    from fangkong.credential.keys import KeyStore
    from fangkong.credential.trust import import_trust_list, publish_trust_list

    now = datetime.now(UTC)
    store = KeyStore.create(work / "keys", "310000", now=now, valid_days=365)
    import_trust_list(
        work / "keys", publish_trust_list(store, now=now), anchor=store.anchor().certificate_der
    )
    facts = _facts(count)
    facts.write_parquet(work / "facts.parquet")
    codes = sign_codes(
        facts,
        signer=store.active(),
        region="310000",
        issued_at=T0,
        validity_hours=24,
        workers=2,
    )
    (work / "codes.txt").write_text("\n".join(codes.to_list()) + "\n", encoding="ascii")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=4, metavar=("MODE", "WORK", "COUNT", "WORKERS"))
    args = parser.parse_args()
    if args.child:
        mode, work, count, workers = args.child
        _child(mode, Path(work), int(count), int(workers))
        return
    with tempfile.TemporaryDirectory(prefix="fangkong-codes-") as tmp:
        work = Path(tmp)
        _prepare(work, args.count)
        script = str(Path(__file__).resolve())
        n = str(args.count)
        cores = os.cpu_count()
        print(f"{args.count:,} codes, medians of {args.repeat} fresh runs, {cores} cores here")
        for workers in (1, 2):
            ours = measure(script, ["sign", str(work), n, str(workers)], args.repeat)
            bare = measure(script, ["bare_sign", str(work), n, str(workers)], args.repeat)
            per_code = ours["seconds"] / args.count
            print(
                f"sign, {workers} core(s): fangkong {ours['seconds']:.2f} s "
                f"({args.count / ours['seconds']:,.0f} codes/s), bare ECDSA loop "
                f"{bare['seconds']:.2f} s, ratio {ours['seconds'] / bare['seconds']:.2f}x; "
                f"25M codes extrapolated: {per_code * CITY / 60:.1f} min "
                f"(bare {bare['seconds'] / args.count * CITY / 60:.1f} min); "
                f"peak RSS {ours['rss'] / 2**20:.0f} MiB"
            )
        ours = measure(script, ["verify", str(work), n, "1"], args.repeat)
        bare = measure(script, ["bare_verify", str(work), n, "1"], args.repeat)
        print(
            f"verify, 1 core: fangkong {ours['seconds']:.2f} s "
            f"({args.count / ours['seconds']:,.0f} codes/s), bare ECDSA loop "
            f"{bare['seconds']:.2f} s ({args.count / bare['seconds']:,.0f}/s), "
            f"ratio {ours['seconds'] / bare['seconds']:.2f}x"
        )


if __name__ == "__main__":
    main()
