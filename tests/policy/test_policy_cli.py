"""`fangkong policy ...`, run through the sub-app with Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import fangkong.policy
from fangkong.cli.policy import app
from fangkong.errors import InputError, NotFoundError, PolicyFileError

WIDE = {"COLUMNS": "240"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_list(runner: CliRunner) -> None:
    result = runner.invoke(app, ["list"], env=WIDE)
    assert result.exit_code == 0, result.output
    for policy_id in ("cn-2020-04-08", "cn-2022-06-28", "cn-2022-11-11"):
        assert policy_id in result.output
    assert "what-if" in result.output


def test_list_and_show_in_80_columns(runner: CliRunner) -> None:
    # the ids to type and the keys to read whole: a table too narrow cut them ('cn-2020-04-…')
    # or folded them mid-word
    narrow = {"COLUMNS": "80"}
    listed = runner.invoke(app, ["list"], env=narrow)
    assert listed.exit_code == 0, listed.output
    ids = [row["id"] for row in json.loads(runner.invoke(app, ["list", "-f", "json"]).output)]
    assert "whatif-2022-06-28-close-contacts-5-3" in ids
    assert all(policy_id in listed.output.split() for policy_id in ids)
    assert max(map(len, listed.output.splitlines())) <= 80
    shown = runner.invoke(app, ["show", "cn-2022-06-28"], env=narrow)
    assert shown.exit_code == 0, shown.output
    document = runner.invoke(app, ["show", "cn-2022-06-28", "-f", "json"]).output
    assert all(key in shown.output.split() for key in json.loads(document)["parameters"])
    assert "…" not in shown.output
    changed = runner.invoke(app, ["diff", "cn-2022-06-28", "cn-2022-11-11"], env=narrow)
    assert "quarantine.close_contact.centralized_days" in changed.output.split()


def test_list_as_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["list", "--format", "json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    by_id = {row["id"]: row for row in rows}
    assert by_id["cn-2022-06-28"]["in_force_from"] == "2022-06-28"
    assert by_id["whatif-2022-06-28-close-contacts-5-3"]["lineage"] == [
        "whatif-2022-06-28-close-contacts-5-3",
        "cn-2022-06-28",
    ]


def test_show_as_a_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "cn-2022-06-28"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "quarantine.close_contact.centralized_days" in out
    assert "policy-facts.md § Quarantine regimes" in out
    assert "[reproductions]" in out  # notes are printed as text, not Rich markup
    assert "NO" in out  # unverified flag
    assert "not verified" in out


def test_show_filters(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "cn-2022-11-11", "--key", "inbound", "--format", "json"])
    params = json.loads(result.output)["parameters"]
    assert set(params) == {
        "inbound.pre_boarding_tests",
        "inbound.pre_boarding_window_hours",
        "inbound.repeat_quarantine_at_destination",
    }
    result = runner.invoke(app, ["show", "cn-2022-06-28", "--unverified", "--format", "json"])
    params = json.loads(result.output)["parameters"]
    assert params and not any(p["verified"] for p in params.values())


def test_show_as_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "cn-2022-06-28", "--format", "json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["id"] == "cn-2022-06-28"
    close = shown["parameters"]["quarantine.close_contact.centralized_test_days"]
    assert close == {
        "value": [1, 2, 3, 5, 7],
        "unit": "day_of_phase",
        "source": "ninth-quarantine",
        "citation": fangkong.policy.load_policy("cn-2022-06-28").source_of(
            "quarantine.close_contact.centralized_test_days"
        ),
        "verified": True,
        "read_by_rules": True,
        "note": None,
    }
    assert shown["parameters"]["risk_areas.levels"]["value"] == ["low", "medium", "high"]


def test_show_a_draft_file(runner: CliRunner, library: Path) -> None:
    path = library / "cn-2022-11-11.yaml"
    result = runner.invoke(app, ["show", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["path"] == str(path.resolve())


def test_diff(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["diff", "cn-2022-06-28", "whatif-2022-06-28-close-contacts-5-3"], env=WIDE
    )
    assert result.exit_code == 0, result.output
    assert "quarantine.close_contact.centralized_days" in result.output
    assert "4 parameters differ" in result.output


def test_diff_as_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["diff", "cn-2022-06-28", "cn-2022-11-11", "-f", "json"])
    rows = {row["key"]: row for row in json.loads(result.output)}
    assert rows["quarantine.close_contact.centralized_days"] == {
        "key": "quarantine.close_contact.centralized_days",
        "kind": "changed",
        "cn-2022-06-28": 7,
        "cn-2022-11-11": 5,
        "unit": "days",
    }
    assert rows["inbound.circuit_breaker.short_suspension_days"]["kind"] == "removed"


def test_diff_of_equal_policies(runner: CliRunner) -> None:
    result = runner.invoke(app, ["diff", "cn-2022-06-28", "cn-2022-06-28"])
    assert "no parameter differs" in result.output


def test_in_force(runner: CliRunner) -> None:
    result = runner.invoke(app, ["in-force", "2022-11-11"])
    assert result.output.strip() == "cn-2022-11-11"


def test_errors_are_raised_as_fangkong_errors(runner: CliRunner, library: Path) -> None:
    result = runner.invoke(app, ["show", "cn-1999-01-01"])
    assert isinstance(result.exception, NotFoundError)
    result = runner.invoke(app, ["in-force", "2019-01-01"])
    assert isinstance(result.exception, NotFoundError)
    result = runner.invoke(app, ["in-force", "yesterday"])
    assert isinstance(result.exception, InputError)
    result = runner.invoke(app, ["show", "cn-2022-06-28", "--key", "vaccination"])
    assert isinstance(result.exception, InputError)
    (library / "broken.yaml").write_text("id: [", "utf-8")
    result = runner.invoke(app, ["show", str(library / "broken.yaml")])
    assert isinstance(result.exception, PolicyFileError)


def test_the_directory_option_and_variable(runner: CliRunner, library: Path) -> None:
    for later in ("cn-2023-01-08", "cn-2022-12-07"):  # the first extends the second
        (library / f"{later}.yaml").unlink()
    result = runner.invoke(app, ["in-force", "2023-01-01", "--dir", str(library)])
    assert result.output.strip() == "cn-2022-11-11"
    result = runner.invoke(app, ["in-force", "2023-01-01"], env={"FANGKONG_POLICIES": str(library)})
    assert result.output.strip() == "cn-2022-11-11"


def test_the_public_surface() -> None:
    """Every name in fangkong.policy.__all__ exists, and nothing private is exported."""
    for name in fangkong.policy.__all__:
        assert hasattr(fangkong.policy, name), name
        assert not name.startswith("_")
    assert sorted(fangkong.policy.__all__) == sorted(set(fangkong.policy.__all__))
