"""Malformed policy files: each error names the file and the dotted key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fangkong.errors import NotFoundError, PolicyFileError
from fangkong.policy import load_policy, load_policy_file, policies_dir

Reader = Callable[[str], dict[str, Any]]
Writer = Callable[..., Path]
Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    """An edit that sets a dotted key of the file's content (creating sections as needed)."""

    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return edit


def _delete(path: str) -> Edit:
    def edit(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[part]
        del node[last]

    return edit


def _param(value: Any, unit: str, **extra: Any) -> dict[str, Any]:
    return {"value": value, "unit": unit, "source": "engineering", "verified": False, **extra}


CC = "quarantine.close_contact"
CASES: list[tuple[str, str, Edit, str, str]] = [
    # (name, base file, edit, expected key, words in the message)
    (
        "unknown key",
        "cn-2022-06-28",
        _set("contacts.exposure_windw_days", _param(4, "days")),
        "contacts.exposure_windw_days",
        "unknown key",
    ),
    (
        "unknown section",
        "cn-2022-06-28",
        _set("vaccination", {"booster_days": _param(180, "days")}),
        "vaccination",
        "unknown key",
    ),
    (
        "unknown metadata key",
        "cn-2022-06-28",
        _set("contacts.exposure_window_days.sauce", "NHC"),
        "contacts.exposure_window_days.sauce",
        "unknown key",
    ),
    (
        "unknown population",
        "cn-2022-06-28",
        _set("quarantine.tourists", {"centralized_days": _param(1, "days")}),
        "quarantine.tourists",
        "as a key",
    ),
    (
        "wrong type: text for days",
        "cn-2022-06-28",
        _set(f"{CC}.centralized_days", _param("seven", "days")),
        f"{CC}.centralized_days",
        "valid integer",
    ),
    (
        "wrong type: yes/no for days",
        "cn-2022-06-28",
        _set(f"{CC}.centralized_days", _param(True, "days")),
        f"{CC}.centralized_days",
        "valid integer",
    ),
    (
        "wrong type: text for a flag",
        "cn-2022-06-28",
        _set("contacts.household_always_close", _param("yes", "flag")),
        "contacts.household_always_close",
        "valid boolean",
    ),
    (
        "wrong unit",
        "cn-2022-06-28",
        _set(f"{CC}.centralized_days", _param(7, "hours")),
        f"{CC}.centralized_days.unit",
        "in 'days', not 'hours'",
    ),
    (
        "unknown unit",
        "cn-2022-06-28",
        _set(f"{CC}.centralized_days", _param(7, "weeks")),
        f"{CC}.centralized_days.unit",
        "'weeks'",
    ),
    (
        "negative days",
        "cn-2022-06-28",
        _set(f"{CC}.home_days", _param(-3, "days")),
        f"{CC}.home_days",
        "greater than or equal to 0",
    ),
    (
        "test day outside the phase",
        "cn-2022-06-28",
        _set(f"{CC}.centralized_test_days", _param([1, 2, 9], "day_of_phase")),
        f"{CC}.centralized_test_days",
        "test day 9 is outside the 7-day centralized phase",
    ),
    (
        "test days out of order",
        "cn-2022-06-28",
        _set(f"{CC}.home_test_days", _param([3, 1], "day_of_phase")),
        f"{CC}.home_test_days",
        "increasing",
    ),
    (
        "test day zero",
        "cn-2022-06-28",
        _set(f"{CC}.home_test_days", _param([0, 1], "day_of_phase")),
        f"{CC}.home_test_days",
        "start at 1",
    ),
    (
        "home phase without its kind",
        "cn-2022-06-28",
        _delete(f"{CC}.home_kind"),
        f"{CC}.home_kind",
        "kind of the 3-day home phase",
    ),
    (
        "Ct above 45",
        "cn-2022-06-28",
        _set("testing.positive_ct_below", _param(50, "ct")),
        "testing.positive_ct_below",
        "less than or equal to 45",
    ),
    (
        "negative Ct",
        "cn-2022-06-28",
        _set("discharge.ct_at_least", _param(-1.5, "ct")),
        "discharge.ct_at_least",
        "greater than or equal to 0",
    ),
    (
        "percent above 100",
        "cn-2022-06-28",
        _set("testing.dilution_pooling_max_positivity_percent", _param(120, "percent")),
        "testing.dilution_pooling_max_positivity_percent",
        "less than or equal to 100",
    ),
    (
        "unknown risk level",
        "cn-2022-06-28",
        _set("risk_areas.levels", _param(["low", "severe"], "category")),
        "risk_areas.levels[1]",
        "'severe'",
    ),
    (
        "level not among the policy's levels",
        "cn-2022-11-11",
        _set("risk_areas.area_rules.medium", _param("stay_in_area_staggered_pickup", "category")),
        "risk_areas.area_rules.medium",
        "not one of risk_areas.levels (low, high)",
    ),
    (
        "lifting to a higher level",
        "cn-2022-06-28",
        _set("risk_areas.lifting.medium.lowered_to", _param("high", "category")),
        "risk_areas.lifting.medium.lowered_to",
        "not below",
    ),
    (
        "medium-area regime without medium areas",
        "cn-2022-11-11",
        _set(
            "quarantine.left_medium_risk_area",
            {
                "centralized_days": _param(0, "days"),
                "home_days": _param(7, "days"),
                "home_kind": _param("home_medical_observation", "category"),
                "home_test_days": _param([1], "day_of_phase"),
                "extension_on_new_exposure": _param("restart", "category"),
            },
        ),
        "quarantine.left_medium_risk_area",
        "no medium-risk areas",
    ),
    (
        "secondary contacts identified without a regime",
        "cn-2022-11-11",
        _set("contacts.secondary_contacts_identified", _param(True, "flag")),
        "quarantine.secondary_contact",
        "secondary_contacts_identified is true",
    ),
    (
        "unknown time zone",
        "cn-2022-06-28",
        _set("bulletin.day_boundary_timezone", _param("Asia/Beijing", "timezone")),
        "bulletin.day_boundary_timezone",
        "unknown time zone",
    ),
    (
        "impossible date",
        "cn-2022-06-28",
        _set("in_force_from", "1922-06-28"),
        "in_force_from",
        "impossible date",
    ),
    (
        "not a date",
        "cn-2022-06-28",
        _set("in_force_from", 20220628),
        "in_force_from",
        "not a date",
    ),
    (
        "id that does not match the date",
        "cn-2022-06-28",
        _set("in_force_from", "2022-06-29"),
        "id",
        "expected 'cn-2022-06-29'",
    ),
    (
        "missing parameter",
        "cn-2022-06-28",
        _delete("testing.pool_size"),
        "testing.pool_size",
        "missing",
    ),
    (
        "missing section",
        "cn-2022-06-28",
        _delete("bulletin"),
        "bulletin",
        "missing",
    ),
    (
        "missing metadata",
        "cn-2022-06-28",
        _delete("testing.pool_size.verified"),
        "testing.pool_size.verified",
        "missing",
    ),
    (
        "number without metadata",
        "cn-2022-06-28",
        _set("testing.pool_size", 10),
        "testing.pool_size",
        "write a parameter as {value, unit, source, verified}",
    ),
    (
        "unknown source",
        "cn-2022-06-28",
        _set("testing.pool_size.source", "a friend"),
        "testing.pool_size.source",
        "unknown source 'a friend'",
    ),
    (
        "section absent with a unit other than section",
        "cn-2022-11-11",
        _set("inbound.circuit_breaker", _param(None, "count")),
        "inbound.circuit_breaker.unit",
        "in 'section', not 'count'",
    ),
    (
        "unknown facts section in a source",
        "cn-2022-06-28",
        _set("sources.engineering.facts", "Vaccines"),
        "sources.engineering.facts",
        "Vaccines",
    ),
    (
        "bad extends: no such policy",
        "cn-2022-06-28",
        _set("extends", "cn-2019-01-01"),
        "extends",
        "no policy 'cn-2019-01-01' to extend",
    ),
    (
        "bad extends: not an id",
        "cn-2022-06-28",
        _set("extends", ["cn-2020-04-08"]),
        "extends",
        "must be the id of another policy",
    ),
    (
        "bad extends: a what-if without a base",
        "cn-2022-06-28",
        _set("status", "what-if"),
        "extends",
        "must name the policy it changes",
    ),
    (
        "a section left out without saying so",
        "cn-2022-06-28",
        _set("contacts", None),
        "contacts",
        "write the absence as {value: null, unit: section",
    ),
    (
        "close contacts quarantined while none are traced",
        "cn-2022-11-11",
        _set("contacts", _param(None, "section")),
        "quarantine.close_contact",
        "no contacts are traced",
    ),
    (
        "people leaving risk areas quarantined while there are none",
        "cn-2022-11-11",
        _set("risk_areas", _param(None, "section")),
        "quarantine.left_high_risk_area",
        "there are no risk areas",
    ),
    (
        "treatment none but discharge written",
        "cn-2022-11-11",
        _set("treatment", _param(None, "section")),
        "treatment",
        "both written, or both none",
    ),
    (
        "a code reason that cannot arise",
        "cn-2023-01-08",
        _set("health_code.red_reasons", _param(["confirmed", "from_risk_area"], "category")),
        "health_code.red_reasons",
        "'from_risk_area' cannot arise: risk_areas is none",
    ),
    (
        "in force until before in force from",
        "cn-2022-11-11",
        _set("in_force_until", "2022-11-10"),
        "in_force_until",
        "is before in_force_from (2022-11-11)",
    ),
    (
        "a what-if with an end",
        "whatif-2022-06-28-close-contacts-5-3",
        _set("in_force_until", "2022-12-31"),
        "in_force_until",
        "a what-if is never in force",
    ),
    (
        "a cited section the sources do not have",
        "cn-2022-06-28",
        _set("sources.ninth-regime.read_at", "sources/policy-notes.md § 10th edition"),
        "sources.ninth-regime.read_at",
        "sources/policy-notes.md has no section '10th edition'",
    ),
    (
        "a further cited section the sources do not have",
        "cn-2022-06-28",
        _set("sources.ninth-regime.read_at", "sources/policy-notes.md § 2020 regime; § Vaccines"),
        "sources.ninth-regime.read_at",
        "has no section 'Vaccines'",
    ),
    (
        "a citation outside the sources directory",
        "cn-2020-04-08",
        _set("sources.seed-002-pbsc.read_at", "shared/seeds/002"),
        "sources.seed-002-pbsc.read_at",
        "cite a section of a file of sources/",
    ),
    (
        "a test to leave a confined area",
        "cn-2022-06-28",
        _set("risk_areas.leave_city_test.high", _param(True, "flag")),
        "risk_areas.leave_city_test.high",
        "'stay_home_door_to_door' confines its residents",
    ),
    (
        "a test to leave the city with no validity",
        "cn-2022-06-28",
        _set("health_code.leave_city_test_validity_hours", _param(None, "hours")),
        "risk_areas.leave_city_test.low",
        "needs health_code.leave_city_test_validity_hours",
    ),
    (
        "a test to leave the city for a level the policy lacks",
        "cn-2022-11-11",
        _set("risk_areas.leave_city_test.medium", _param(False, "flag")),
        "risk_areas.leave_city_test.medium",
        "not one of risk_areas.levels (low, high)",
    ),
    (
        "a citation of another directory's file",
        "cn-2020-04-08",
        _set("sources.seed-002-pbsc.read_at", "../reference/policy-notes.md § 2020 regime"),
        "sources.seed-002-pbsc.read_at",
        "is not a file of sources/",
    ),
    (
        "a citation of a file not copied",
        "cn-2020-04-08",
        _set("sources.seed-002-pbsc.read_at", "sources/peer-systems.md § Overview"),
        "sources.seed-002-pbsc.read_at",
        "no file peer-systems.md",
    ),
    (
        "a cited section that names several",
        "cn-2020-04-08",
        _set("sources.jiangsu-code.read_at", "sources/policy-notes.md § Health code"),
        "sources.jiangsu-code.read_at",
        "names several sections",
    ),
]


@pytest.mark.parametrize("case", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_malformed_file_names_the_file_and_the_key(
    shipped: Reader, write_policy: Writer, case: tuple[str, Edit, str, str]
) -> None:
    base, edit, key, words = case
    data = shipped(base)
    edit(data)
    path = write_policy(data, name=base)
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    error = caught.value
    assert error.key == key
    assert error.path == str(path)
    assert f"{path}, key '{key}':" in str(error)
    assert words in str(error)


def test_the_message_gives_the_line(shipped: Reader, write_policy: Writer) -> None:
    data = shipped("cn-2022-06-28")
    data["testing"]["positive_ct_below"]["value"] = 99
    path = write_policy(data)
    lines = path.read_text("utf-8").splitlines()
    expected = 1 + next(i for i, t in enumerate(lines) if "positive_ct_below:" in t)
    with pytest.raises(PolicyFileError, match=rf"\(line {expected}\)"):
        load_policy_file(path)


def test_several_errors_are_all_listed(shipped: Reader, write_policy: Writer) -> None:
    data = shipped("cn-2022-06-28")
    data["testing"]["pool_size"]["value"] = "ten"
    data["discharge"]["tests"]["value"] = "two"
    path = write_policy(data)
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    assert caught.value.key == "testing.pool_size"
    assert "and 1 more: discharge.tests:" in str(caught.value)


def test_a_file_named_otherwise_than_its_id(shipped: Reader, write_policy: Writer) -> None:
    path = write_policy(shipped("cn-2022-06-28"), name="cn-2022-06-28-copy")
    with pytest.raises(PolicyFileError, match=r"named cn-2022-06-28-copy\.yaml") as caught:
        load_policy_file(path)
    assert caught.value.key == "id"


def test_a_key_written_twice(library: Path) -> None:
    text = (library / "cn-2022-06-28.yaml").read_text("utf-8")
    path = library / "cn-2022-06-28.yaml"
    path.write_text(text.replace("status: released\n", "status: released\nstatus: what-if\n"))
    with pytest.raises(PolicyFileError, match="'status' is written twice") as caught:
        load_policy_file(path)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [("id: [unclosed\n", "not valid YAML"), ("- a list\n", "a YAML mapping"), ("", "mapping")],
)
def test_not_a_policy_document(library: Path, text: str, words: str) -> None:
    path = library / "broken.yaml"
    path.write_text(text, "utf-8")
    with pytest.raises(PolicyFileError, match=words) as caught:
        load_policy_file(path)
    assert str(path) in str(caught.value)


def test_extends_in_a_cycle(shipped: Reader, write_policy: Writer) -> None:
    first = shipped("whatif-2022-06-28-close-contacts-5-3")
    first["id"], first["extends"] = "whatif-a", "whatif-b"
    second = shipped("whatif-2022-06-28-close-contacts-5-3")
    second["id"], second["extends"] = "whatif-b", "whatif-a"
    path = write_policy(first)
    write_policy(second)
    with pytest.raises(PolicyFileError, match="extends this file back") as caught:
        load_policy_file(path)
    assert caught.value.key == "extends"


def test_an_invalid_base_names_the_base(shipped: Reader, write_policy: Writer) -> None:
    base = shipped("cn-2022-06-28")
    base["testing"]["pool_size"]["value"] = 0
    base_path = write_policy(base)
    overlay = shipped("whatif-2022-06-28-close-contacts-5-3")
    path = write_policy(overlay)
    with pytest.raises(PolicyFileError) as caught:
        load_policy_file(path)
    assert caught.value.path == str(base_path)
    assert caught.value.key == "testing.pool_size"


def test_no_such_file(library: Path) -> None:
    with pytest.raises(PolicyFileError, match="no such file"):
        load_policy_file(library / "missing.yaml")
    with pytest.raises(NotFoundError, match="no policy 'missing'"):
        load_policy("missing", directory=library)


def test_policies_directory_from_the_environment(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FANGKONG_POLICIES", str(library))
    assert policies_dir() == library
    monkeypatch.setenv("FANGKONG_POLICIES", str(library / "nowhere"))
    with pytest.raises(NotFoundError, match="FANGKONG_POLICIES"):
        policies_dir()


def test_a_changed_file_is_read_again(shipped: Reader, write_policy: Writer) -> None:
    data = shipped("cn-2022-06-28")
    path = write_policy(data)
    contacts = load_policy_file(path).contacts
    assert contacts is not None and contacts.exposure_window_days == 4
    data["contacts"]["exposure_window_days"]["value"] = 14
    write_policy(data)
    contacts = load_policy_file(path).contacts
    assert contacts is not None and contacts.exposure_window_days == 14
