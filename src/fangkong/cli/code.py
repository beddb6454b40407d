"""`fangkong code PERSON`: a person's health-code colour on a day, every reason with the fact it
comes from, what the risk area they live in asks of them (a low area: a negative test to leave
the city; read from the typed restriction of the area's measure), the test validity window, and
with `--keys` the signed code (and its QR image)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import typer

from fangkong.cli.common import StoreOption, console, fail, opened_store, shown
from fangkong.cli.credential import sign_person_code
from fangkong.cli.day import _parse_day
from fangkong.engine.colours import CodeOfPerson, code_of
from fangkong.engine.scenario import Scenario, scenario_of
from fangkong.engine.zones_measures import resident_measures
from fangkong.errors import FangkongError, InputError
from fangkong.model.glossary import CodeReason
from fangkong.policy import load_policy
from fangkong.policy.terms import AreaRestriction
from fangkong.store import Store

__all__ = ["code_command"]


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "—"


# what a resident's area measure (AreaRestriction) asks, as the code shows it
_ASKS = {
    AreaRestriction.STAY_HOME.value: "stay home (足不出户)",
    AreaRestriction.STAY_IN_AREA.value: "stay in the area (人不出区)",
    AreaRestriction.LEAVE_CITY_WITH_TEST.value: "leaving the city needs a negative test",
}


def _print(code: CodeOfPerson, measures: pl.DataFrame) -> None:
    ran = f"run of {code.run_day}, policy {code.policy_id}"
    console.print(
        f"person {code.person_id} on {code.day}: [bold]{code.colour.value}[/bold] ({ran})"
    )
    for reason, source, ref, since in code.reasons.iter_rows():
        console.print(
            f"  {reason}: {source} {shown(ref or '')} since {_when(since)}".replace(
                "  since", " since"
            ),
            markup=False,
        )
    for area, level, restriction, rule in measures.select(
        "area_id", "level", "restriction", "rule"
    ).iter_rows():
        asks = _ASKS.get(restriction, restriction)
        console.print(f"{asks}: resident of {area} ({level} risk, {rule})", markup=False)
    if code.tested_at is None:
        console.print("no negative test on record")
        return
    console.print(f"latest negative test (counted from): {_when(code.tested_at)}")
    for name, until in (
        ("venue entry", code.venue_valid_until),
        ("leaving the city", code.leave_city_valid_until),
    ):
        if until is None:
            console.print(f"test validity for {name}: the policy asks none")
        else:
            console.print(f"test valid for {name} until {_when(until)}")


def _signed(code: CodeOfPerson, keys: Path, qr: Path | None) -> str:
    if not code.on_record:
        raise InputError(f"person {code.person_id} has no colour on record to sign on {code.day}")
    reasons = tuple(dict.fromkeys(CodeReason(r) for r in code.reasons.get_column("reason")))
    return sign_person_code(
        keys, code.person_id, code.colour, reasons, load_policy(code.policy_id), qr
    )


def code_command(
    person: Annotated[int, typer.Argument(help="The person id.")],
    day: Annotated[
        str | None, typer.Option("--date", help="YYYY-MM-DD (default: the latest run).")
    ] = None,
    scenario: Annotated[str, typer.Option(help="The scenario (default: live).")] = "live",
    qr: Annotated[
        Path | None, typer.Option("--qr", help="Write the signed code's QR image (needs --keys).")
    ] = None,
    keys: Annotated[
        Path | None,
        typer.Option("--keys", "-k", envvar="FANGKONG_KEYS", help="Key folder: sign the code."),
    ] = None,
    store: StoreOption = "fangkong.duckdb",
) -> None:
    """A person's health-code colour, its reasons and the test validity window."""
    try:
        if qr is not None and keys is None:
            raise InputError("--qr writes the signed code: give --keys too")
        on = _parse_day(day) if day else None
        with opened_store(store, existing=True) as st:
            found = scenario_of(st, scenario)
            code = code_of(st, person, on or _latest_run(st, found), scenario=found)
            measures = resident_measures(st, person, code.day, found)
        _print(code, measures)
        if keys is not None:
            console.print(_signed(code, keys, qr), markup=False, soft_wrap=True)
            if qr is not None:
                console.print(f"QR image: {shown(qr)}")
    except FangkongError as exc:
        raise fail(exc) from exc
    except OSError as exc:
        raise fail(InputError(f"{exc.filename}: {exc.strerror}")) from exc


def _latest_run(st: Store, scenario: Scenario) -> date:
    """The latest run day the scenario sees."""
    latest = st.scalar(
        f"SELECT max(run_day) FROM engine_run r WHERE {scenario.visible('r')}", scenario.params()
    )
    if latest is None:
        raise InputError(f"no run in scenario {scenario.name!r}: run `fangkong day` first")
    return date.fromisoformat(str(latest))
