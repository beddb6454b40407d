"""`fangkong verify`, `fangkong keys …`, `fangkong trust …`: health codes as credentials.

Every command works on a key folder (`--keys`, or FANGKONG_KEYS, default `keys/`): the issuer's
key store (`fangkong.credential.keys`) and the verifier's trust folder (pinned anchors, imported
trust and revocation lists) live side by side in it. Errors are FangkongErrors; the main app maps
them to exit code 2, and a refused code exits with 2 too.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec

import typer
from rich.console import Console
from rich.markup import escape

from fangkong.bulletin.render import count_en, n_en
from fangkong.cli.common import fail
from fangkong.credential.conformance import run_vectors
from fangkong.credential.cose import parse_sign1
from fangkong.credential.envelope import Prefix, unwrap
from fangkong.credential.healthcode import CodeFacts, pseudonym
from fangkong.credential.issue import issue_code
from fangkong.credential.keys import KeyStore
from fangkong.credential.qr import read_qr, write_qr
from fangkong.credential.revocation import (
    HashType,
    import_revocation_list,
    publish_revocation_list,
    revocation_hash,
)
from fangkong.credential.trust import (
    add_dcc_signer,
    import_trust_list,
    load_trust_store,
    publish_trust_list,
)
from fangkong.credential.verify import VerifiedCode, Verifier
from fangkong.errors import CredentialError, FangkongError, InputError, PolicyError
from fangkong.model.glossary import CodeColour
from fangkong.policy import Policy, load_policy, policy_in_force
from fangkong.policy.terms import CodeReason

__all__ = ["keys_app", "sign_person_code", "trust_app", "verify_command"]

keys_app = typer.Typer(help="The signer key store: generate, rotate, list, retire, withdraw.")
trust_app = typer.Typer(help="Mutual recognition: publish and import signed trust lists.")

KeysOption = Annotated[
    Path,
    typer.Option("--keys", "-k", envvar="FANGKONG_KEYS", help="Key folder (default keys/)."),
]
ValidDays = Annotated[int, typer.Option("--valid-days", min=1, help="Signer certificate life.")]


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


_P = ParamSpec("_P")


def _handled(command: Callable[_P, None]) -> Callable[_P, None]:
    """FangkongErrors and unreadable files become the message and exit code 2."""

    @functools.wraps(command)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except FangkongError as exc:
            raise fail(exc) from exc
        except OSError as exc:
            raise fail(InputError(f"{exc.filename}: {exc.strerror}")) from exc

    return run


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """A credential error while reading `path` names the file."""
    try:
        yield
    except CredentialError as exc:
        raise CredentialError(exc.reason, f"{path}: {exc.detail}") from exc


def _console() -> Console:
    return Console(highlight=False, soft_wrap=True)


def _now() -> datetime:
    return datetime.now(UTC)


def _verifier(keys: Path) -> Verifier:
    return Verifier.from_folder(keys)


def _describe(code: VerifiedCode) -> dict[str, Any]:
    out: dict[str, Any] = {
        "valid": True,
        "kind": "health_code" if code.kind is Prefix.FANGKONG else "eu_dcc",
        "issuer": code.issuer,
        "key_id": code.key_id.hex(),
        "issued_at": code.issued_at,
        "expires": code.expires,
    }
    if code.health is not None:
        out |= {
            "colour": code.health.colour.value,
            "reasons": [r.value for r in code.health.reasons],
            "policy": code.health.policy_id,
            "subject": code.health.subject,
        }
    if code.dcc is not None:
        out |= {"dcc_kind": code.dcc_kind, "dcc": code.dcc}
    return out


@_handled
def verify_command(
    target: Annotated[str, typer.Argument(help="QR text, a QR image file, or 'conformance'.")],
    directory: Annotated[
        Path | None, typer.Argument(help="With 'conformance': the folder of vectors.")
    ] = None,
    keys: KeysOption = Path("keys"),
    at: Annotated[
        str | None, typer.Option("--at", help="Verify as at this ISO time (default now).")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", "-f")] = Format.TEXT,
) -> None:
    """Verify a health code or EU DCC offline (exit 0 valid, 2 invalid), or run conformance
    vectors: `fangkong verify conformance DIR`."""
    console = _console()
    if target == "conformance":
        if directory is None:
            raise InputError("fangkong verify conformance DIR: give the folder of vectors")
        _conformance(directory, fmt, console)
        return
    when = datetime.fromisoformat(at).timestamp() if at else time.time()
    is_text = target.startswith(tuple(p.value for p in Prefix)) or len(target) > 1024
    if is_text or not Path(target).is_file():
        text = target
    else:
        with _reading(Path(target)):
            text = read_qr(Path(target).read_bytes())
    try:
        code = _verifier(keys).verify(text, at=when)
    except CredentialError as exc:
        if fmt is Format.JSON:
            refusal = {"valid": False, "reason": exc.reason.value, "detail": exc.detail}
            console.print_json(json.dumps(refusal))
        else:
            console.print(f"[bold red]invalid[/]: {exc.reason.value} — {escape(exc.detail)}")
        raise typer.Exit(2) from None
    described = _describe(code)
    if fmt is Format.JSON:
        console.print_json(json.dumps(described, ensure_ascii=False))
        return
    console.print(f"[bold green]valid[/] {described['kind']} from {code.issuer}")
    if code.health is not None:
        reasons = ", ".join(described["reasons"]) or "none"
        console.print(f"colour {described['colour']} (reasons: {reasons}; {code.health.policy_id})")
    if code.dcc is not None:
        console.print(escape(json.dumps(code.dcc, ensure_ascii=False)))


def _conformance(directory: Path, fmt: Format, console: Console) -> None:
    every = run_vectors(directory)
    results = [r for r in every if r.not_a_vector is None]
    left_out = [r for r in every if r.not_a_vector is not None]
    checks = [c for r in results for c in r.checks]
    agreed = sum(c.agrees for c in checks)
    excused = sum(c.excused for c in checks)
    not_run = sum(c.not_run is not None for c in checks)
    failed = len(checks) - agreed - excused - not_run
    if fmt is Format.JSON:
        data = {
            "files": [
                {
                    "file": r.path,
                    "description": r.description,
                    "checks": [
                        {
                            "expectation": c.name,
                            "expected": c.expected,
                            "got": c.got,
                            "reason": c.reason,
                            "upstream_error": c.upstream_error,
                            "not_run": c.not_run,
                        }
                        for c in r.checks
                    ],
                }
                for r in results
            ],
            "files_run": len(results),
            "files_left_out": [{"file": r.path, "why": r.not_a_vector} for r in left_out],
            "expectations": len(checks),
            "met": agreed,
            "upstream_errors": excused,
            "not_run": not_run,
            "failed": failed,
        }
        console.print_json(json.dumps(data, ensure_ascii=False))
    else:
        for result in results:
            console.print(f"[bold]{escape(result.path)}[/] {escape(result.description)}")
            for c in result.checks:
                if c.not_run is not None:
                    line = f"  {c.name}: expected {c.expected}, not run ({c.not_run})"
                else:
                    mark = "ok" if c.agrees else ("upstream error" if c.excused else "FAILED")
                    why = f" ({c.reason})" if c.reason else ""
                    line = f"  {c.name}: expected {c.expected}, got {c.got}{why} — {mark}"
                console.print(line, markup=False)
        for r in left_out:
            console.print(f"{escape(r.path)}: not a test vector ({r.not_a_vector}), left out")
        console.print(
            f"{count_en(len(results), 'file')}, {count_en(len(checks), 'expected result')}:"
            f" {n_en(agreed)} met, {n_en(excused)} wrong upstream (listed), {n_en(not_run)} not"
            f" run (the file lacks the step's input, or names no step), {n_en(failed)} failed"
        )
    if failed:
        raise typer.Exit(2)


@keys_app.command("generate")
@_handled
def keys_generate(
    region: Annotated[str, typer.Option("--region", help="GB/T 2260 code of this instance.")],
    keys: KeysOption = Path("keys"),
    valid_days: ValidDays = 365,
) -> None:
    """Create the key store: the region's trust anchor and a first signer."""
    store = KeyStore.create(keys, region, now=_now(), valid_days=valid_days)
    _console().print(f"key store for {region} in {keys}: signer {store.signers[-1].key_id}")


@keys_app.command("rotate")
@_handled
def keys_rotate(keys: KeysOption = Path("keys"), valid_days: ValidDays = 365) -> None:
    """A new active signer; the previous one retires (its codes verify until they expire)."""
    record = KeyStore.open(keys).rotate(now=_now(), valid_days=valid_days)
    _console().print(f"active signer {record.key_id}")


@keys_app.command("retire")
@_handled
def keys_retire(key_id: str, keys: KeysOption = Path("keys")) -> None:
    KeyStore.open(keys).retire(key_id, now=_now())


@keys_app.command("withdraw")
@_handled
def keys_withdraw(
    key_id: str,
    why: Annotated[str, typer.Option("--why", help="e.g. 'leaked'")],
    keys: KeysOption = Path("keys"),
) -> None:
    """Withdraw a leaked signer: publish the trust list afterwards."""
    KeyStore.open(keys).withdraw(key_id, now=_now(), why=why)


@keys_app.command("list")
@_handled
def keys_list(keys: KeysOption = Path("keys")) -> None:
    store = KeyStore.open(keys)
    console = _console()
    console.print(f"region {store.region}")
    for r in store.signers:
        console.print(
            f"{r.key_id}  {r.status.value:9}  since {r.changed or r.created}  {r.why or ''}"
        )


@keys_app.command("sign-code")
@_handled
def keys_sign_code(
    person: Annotated[str, typer.Option("--person", help="Person id (pseudonymized).")],
    colour: Annotated[CodeColour, typer.Option("--colour")],
    reason: Annotated[list[CodeReason] | None, typer.Option("--reason")] = None,
    policy: Annotated[str | None, typer.Option("--policy", help="Default: in force today.")] = None,
    keys: KeysOption = Path("keys"),
    qr: Annotated[Path | None, typer.Option("--qr", help="Write the QR image (.png/.svg).")] = None,
) -> None:
    """Sign one code with the active signer (the validity comes from the policy)."""
    rules = load_policy(policy) if policy else policy_in_force(date.today())
    reasons = tuple(reason or ())
    # a signed code is believed by every verifier: it may not say what the policy would not
    try:
        given = rules.health_code.colour_of(reasons)
    except PolicyError as exc:
        raise InputError(f"{rules.id}: {exc}") from None
    if given is not colour:
        raise InputError(
            f"under {rules.id} the reasons {', '.join(r.value for r in reasons) or '(none)'}"
            f" give a {given.value} code, not {colour.value}"
        )
    text = sign_person_code(keys, person, colour, reasons, rules, qr)
    _console().print(text, markup=False)


def sign_person_code(
    keys: Path,
    person: str | int,
    colour: CodeColour,
    reasons: tuple[CodeReason, ...],
    rules: Policy,
    qr: Path | None = None,
) -> str:
    """A person's code signed now by the active signer of `keys`, valid for the policy's hours;
    its QR image written to `qr` if given."""
    store = KeyStore.open(keys)
    facts = CodeFacts(pseudonym(store.pseudonym_secret(), person), colour, reasons, rules.id)
    text = issue_code(
        facts,
        signer=store.active(),
        region=store.region,
        issued_at=int(time.time()),
        validity_hours=rules.health_code.signed_code_validity_hours,
    )
    if qr is not None:
        write_qr(text, qr)
    return text


@keys_app.command("revoke")
@_handled
def keys_revoke(
    code: Annotated[str, typer.Argument(help="The QR text of a code this region issued.")],
    by: Annotated[HashType, typer.Option("--by")] = HashType.UCI,
    keys: KeysOption = Path("keys"),
) -> None:
    """Revoke a code: its hash goes on the region's signed revocation list."""
    store = KeyStore.open(keys)
    verified = _verifier(keys).verify(code, at=time.time())
    message = parse_sign1(unwrap(code)[1])
    identifier = verified.health.code_id if verified.health else ""
    digest = revocation_hash(
        by,
        identifier=identifier,
        issuer=verified.issuer,
        signature=message.signature,
        algorithm=message.algorithm,
    )
    publish_revocation_list(store, [(by, digest)], now=_now())
    _console().print(f"revoked by {by.value}: {digest.hex()}")


@trust_app.command("publish")
@_handled
def trust_publish(
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the signed list.")],
    keys: KeysOption = Path("keys"),
) -> None:
    """Sign this region's trust list; this instance imports it too (it trusts itself)."""
    store = KeyStore.open(keys)
    data = publish_trust_list(store, now=_now())
    out.write_bytes(data)
    import_trust_list(keys, data, anchor=store.anchor().certificate_der)
    _console().print(f"trust list of {store.region} written to {out}")


@trust_app.command("import")
@_handled
def trust_import(
    file: Path,
    anchor: Annotated[
        Path | None, typer.Option("--anchor", help="The region's anchor certificate (first time).")
    ] = None,
    keys: KeysOption = Path("keys"),
) -> None:
    """Import another region's signed trust list (or revocation list)."""
    data = file.read_bytes()
    if file.name.startswith("revocation") or file.parent.name == "revocations":
        with _reading(file):
            revoked = import_revocation_list(keys, data)
        _console().print(f"imported {len(revoked)} revocation hashes")
        return
    with _reading(file):
        listed = import_trust_list(keys, data, anchor=anchor.read_bytes() if anchor else None)
    _console().print(
        f"trust list of {listed.region}: {len(listed.keys)} keys, {len(listed.withdrawn)} withdrawn"
    )


@trust_app.command("add-dcc-signer")
@_handled
def trust_add_dcc_signer(
    certificate: Annotated[Path, typer.Argument(help="DER, PEM or Base64 certificate file.")],
    country: Annotated[str, typer.Option("--country", help="ISO 3166 alpha-2, e.g. AT")],
    keys: KeysOption = Path("keys"),
) -> None:
    """Trust an EU DCC document signer certificate, so its DCCs verify (the border step)."""
    with _reading(certificate):
        signer = add_dcc_signer(keys, certificate.read_bytes(), country)
    _console().print(f"DCC signer {signer.key_id.hex()} of {country} trusted")


@trust_app.command("list")
@_handled
def trust_list(keys: KeysOption = Path("keys")) -> None:
    store = load_trust_store(keys)
    console = _console()
    for kid, entries in sorted(store.keys.items()):
        console.print(f"{kid.hex()}  {entries[0].region}  trusted")
    for kid, gone in sorted(store.withdrawn.items()):
        console.print(f"{kid.hex()}  {gone.region}  withdrawn: {gone.why}", markup=False)
