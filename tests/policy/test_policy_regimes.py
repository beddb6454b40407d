"""Every date has its regime or an error that says so: the 8th edition and class-B management are
encoded, a date before the first regime or after a declared end (`in_force_until`) with no
successor is a NoPolicyInForceError (exit code 2 in the CLI), never a fallback."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fangkong.cli.app import app as main_app
from fangkong.cli.policy import app
from fangkong.errors import NoPolicyInForceError, NotFoundError, PolicyError, PolicyFileError
from fangkong.policy import Population, list_policies, load_policy, policy_in_force

Reader = Callable[[str], dict[str, Any]]
Writer = Callable[..., Path]
WIDE = {"COLUMNS": "240"}


def _fangkong(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The real command line, in a fresh process (its error handling is the entry point's)."""
    code = "from fangkong.cli.app import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=False,
        env={**(env or {}), "COLUMNS": "240", "PATH": "/usr/bin:/bin"},
    )


def test_the_eighth_edition_is_in_force_from_mid_may_2021() -> None:
    eighth = policy_in_force(date(2021, 7, 1))
    assert eighth.id == "cn-2021-05-14"
    assert eighth.in_force_verified is False  # the reference gives only the month
    close = eighth.quarantine[Population.CLOSE_CONTACT]
    assert (close.centralized_days, close.home_days) == (14, 7)
    assert eighth.contacts is not None and eighth.contacts.exposure_window_days == 2


def test_class_b_management_has_no_contacts_no_areas_no_quarantine_no_isolation() -> None:
    class_b = policy_in_force(date(2023, 1, 8))
    assert class_b.id == "cn-2023-01-08"
    assert class_b.contacts is None
    assert class_b.risk_areas is None
    assert class_b.treatment is None and class_b.discharge is None
    assert dict(class_b.quarantine) == {}
    assert all(class_b.regime(p) is None for p in Population)
    # each absence is documented with its source
    for key in ("contacts", "risk_areas", "treatment", "quarantine.close_contact"):
        param = class_b.parameter(key)
        assert param.value is None and param.unit.value == "section"
        assert "144号" in param.citation
    # the ten measures' day before is still the ten measures
    assert policy_in_force(date(2023, 1, 7)).id == "cn-2022-12-07"


def test_a_date_before_the_first_regime_is_an_error() -> None:
    with pytest.raises(NoPolicyInForceError) as caught:
        policy_in_force(date(2019, 12, 1))
    error = caught.value
    assert isinstance(error, PolicyError) and isinstance(error, NotFoundError)
    assert (error.jurisdiction, error.on) == ("cn", date(2019, 12, 1))
    assert "no cn regime is encoded for 2019-12-01" in str(error)
    assert "first is in force from 2020-04-08 (cn-2020-04-08)" in str(error)


def _ended(shipped: Reader, write_policy: Writer, until: str) -> Path:
    data = shipped("cn-2023-01-08")
    data["in_force_until"] = date.fromisoformat(until)
    return write_policy(data)


def test_a_date_after_a_declared_end_with_no_successor_is_an_error(
    shipped: Reader, write_policy: Writer, library: Path
) -> None:
    _ended(shipped, write_policy, "2023-06-30")
    assert policy_in_force(date(2023, 6, 30), directory=library).id == "cn-2023-01-08"
    with pytest.raises(NoPolicyInForceError, match="cn-2023-01-08 ended on 2023-06-30 and no la"):
        policy_in_force(date(2023, 7, 1), directory=library)


def test_a_successor_after_the_end_takes_over(
    shipped: Reader, write_policy: Writer, library: Path
) -> None:
    _ended(shipped, write_policy, "2023-06-30")
    later = shipped("cn-2023-01-08")
    later.update(id="cn-2023-08-01", extends="cn-2023-01-08", in_force_from=date(2023, 8, 1))
    for section in ("contacts", "quarantine", "risk_areas", "treatment", "discharge"):
        later.pop(section)
    write_policy(later)
    assert load_policy("cn-2023-08-01", directory=library).in_force_until is None  # not inherited
    with pytest.raises(NoPolicyInForceError, match="ended on 2023-06-30"):
        policy_in_force(date(2023, 7, 31), directory=library)
    assert policy_in_force(date(2023, 8, 1), directory=library).id == "cn-2023-08-01"


def test_an_end_on_or_after_the_successors_start_is_an_error(
    shipped: Reader, write_policy: Writer, library: Path
) -> None:
    data = shipped("cn-2022-11-11")
    data["in_force_until"] = date(2022, 12, 7)
    path = write_policy(data)
    with pytest.raises(PolicyFileError) as caught:
        list_policies(directory=library)
    assert caught.value.key == "in_force_until"
    assert str(caught.value).startswith(f"{path}, key 'in_force_until': in force until 2022-12-07")
    assert "cn-2022-12-07 is in force from 2022-12-07" in str(caught.value)
    data["in_force_until"] = date(2022, 12, 6)  # the day before the successor: fine
    write_policy(data)
    assert policy_in_force(date(2022, 12, 6), directory=library).id == "cn-2022-11-11"


def test_the_cli_exits_2_with_the_message_before_the_first_regime() -> None:
    result = _fangkong("policy", "in-force", "2019-12-01")
    assert result.returncode == 2, result.stderr
    message = " ".join(result.stderr.split())
    assert "error: no cn regime is encoded for 2019-12-01" in message
    assert "the first is in force from 2020-04-08" in message
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_the_cli_exits_2_after_a_declared_end(
    shipped: Reader, write_policy: Writer, library: Path
) -> None:
    _ended(shipped, write_policy, "2023-06-30")
    result = _fangkong("policy", "in-force", "2023-07-01", "--dir", str(library))
    assert result.returncode == 2, result.stderr
    assert "cn-2023-01-08 ended on 2023-06-30" in " ".join(result.stderr.split())
    ok = _fangkong("policy", "in-force", "2023-06-30", "--dir", str(library))
    assert (ok.returncode, ok.stdout.strip()) == (0, "cn-2023-01-08")


def test_policy_list_shows_the_declared_end(
    shipped: Reader, write_policy: Writer, library: Path
) -> None:
    _ended(shipped, write_policy, "2023-06-30")
    runner = CliRunner()
    table = runner.invoke(app, ["list", "--dir", str(library)], env=WIDE)
    assert table.exit_code == 0, table.output
    assert "until" in table.output
    row = next(line for line in table.output.splitlines() if "cn-2023-01-08" in line)
    assert "2023-01-08" in row and "2023-06-30" in row
    rows = json.loads(runner.invoke(app, ["list", "--dir", str(library), "-f", "json"]).output)
    by_id = {r["id"]: r for r in rows}
    assert by_id["cn-2023-01-08"]["in_force_until"] == "2023-06-30"
    assert by_id["cn-2022-12-07"]["in_force_until"] is None


def test_the_daily_run_refuses_a_date_with_no_regime(tmp_path: Path) -> None:
    """`fangkong day` looks up the policy in force: no silent fallback there either."""
    runner = CliRunner()
    store = str(tmp_path / "city.duckdb")
    assert runner.invoke(main_app, ["init", "--store", store]).exit_code == 0
    result = runner.invoke(main_app, ["day", "--date", "2019-12-01", "--store", store])
    assert result.exit_code == 2
    assert "no cn regime is encoded for 2019-12-01" in " ".join(result.output.split())
