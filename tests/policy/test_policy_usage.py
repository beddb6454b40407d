"""Which parameters the rules read (`fangkong.policy.usage`): the scan's rules on small modules
written here, the parameters unread today as a known set, and `policy show` marking them."""

from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from fangkong.cli.policy import app
from fangkong.policy import load_policy
from fangkong.policy.usage import (
    is_read,
    parameter_keys,
    reads_in,
    rule_reads,
    scanned_modules,
    unread,
)

# The parameters no rule of the engine reads today. A change to this set is a change to what
# the engine applies: update it in the same commit, saying which rule now reads (or no longer
# reads) the parameter.
KNOWN_UNREAD = frozenset(
    {
        "testing.dilution_pooling_max_positivity_percent",
        "testing.mass_testing_completion_hours",
        "testing.region_wide_mass_testing",
        "testing.max_tests_per_day",
        "testing.risk_post_test_interval_days",
        "risk_areas.delineation.high",
        "risk_areas.review_interval_days",
        "health_code.colour_rules_scope",
        "inbound.pre_boarding_tests",
        "inbound.pre_boarding_window_hours",
        "inbound.repeat_quarantine_at_destination",
        "bulletin.day_boundary_timezone",
        "bulletin.local_cases_by_city",
    }
)

HEADER = """
from fangkong.policy import CircuitBreaker, Policy, Population, QuarantineRegime
"""


def _reads(body: str, **more: str) -> set[str]:
    """The dotted read patterns of a module `m` (plus modules `more`)."""
    modules = {
        "m": HEADER + textwrap.dedent(body),
        **{k: textwrap.dedent(v) for k, v in more.items()},
    }
    return {".".join(p) for p in reads_in(modules)}


def test_the_parameters_no_rule_reads_are_the_known_ones() -> None:
    """Fails when a parameter becomes unread, when a new one is added that nothing reads, and
    when one of the known set gets read (then take it out of the set)."""
    assert set(unread(parameter_keys())) == KNOWN_UNREAD


def test_every_known_unread_key_is_a_parameter_of_the_schema() -> None:
    assert set(parameter_keys()) >= KNOWN_UNREAD


def test_the_scan_covers_the_engine_and_skips_the_policy_package() -> None:
    modules = scanned_modules()
    assert "fangkong.engine.quarantine" in modules
    assert "fangkong.engine.tracing" in modules
    assert not any(m.startswith("fangkong.policy") for m in modules)
    assert "fangkong.cli.policy" not in modules


def test_what_the_engine_reads_today() -> None:
    assert is_read("contacts.exposure_window_days")
    assert is_read("quarantine.close_contact.centralized_days")  # phase_table, any population
    assert is_read("quarantine.inbound_traveller.home_days")
    assert is_read("treatment.mild")  # setting_for reads its field by a computed name
    # the engine takes a tube's members as registered; the twin pools a round's swabs by it
    assert is_read("testing.pool_size")
    assert not is_read("testing.dilution_pooling_max_positivity_percent")
    assert not is_read("bulletin.day_boundary_timezone")


def test_an_attribute_through_a_name_is_a_read() -> None:
    reads = _reads(
        """
        def rule(policy: Policy) -> int:
            t = policy.testing
            return t.pool_size + 1
        """
    )
    assert reads == {"testing.pool_size"}


def test_a_section_tested_for_none_is_not_a_read() -> None:
    reads = _reads(
        """
        def rule(policy: Policy) -> bool:
            if policy.contacts is None or not policy.risk_areas:
                return Population.CLOSE_CONTACT in policy.quarantine
            return policy.id == "x"
        """
    )
    assert reads == {"id"}  # a header field, never a parameter


def test_a_constant_key_reads_one_entry_and_a_variable_key_every_entry() -> None:
    reads = _reads(
        """
        def one(policy: Policy) -> int:
            regime = policy.regime(Population.INBOUND_TRAVELLER)
            return regime.total_days if regime else 0

        def every(policy: Policy, who: Population) -> int:
            return policy.quarantine[who].home_days

        def get(policy: Policy) -> object:
            found = policy.quarantine.get(Population.CLOSE_CONTACT)
            return found.home_kind if found else None
        """
    )
    assert reads == {
        "quarantine.inbound_traveller.centralized_days",
        "quarantine.inbound_traveller.home_days",
        "quarantine.*.home_days",
        "quarantine.close_contact.home_kind",
    }
    assert is_read("quarantine.secondary_contact.home_days", [tuple(r.split(".")) for r in reads])
    assert not is_read(
        "quarantine.secondary_contact.home_kind", [tuple(r.split(".")) for r in reads]
    )


def test_a_loop_over_a_table_reads_every_entry() -> None:
    reads = _reads(
        """
        def rule(policy: Policy) -> list[int]:
            out = []
            for population, regime in policy.quarantine.items():
                out.append(regime.centralized_days)
            return [r.home_days for r in policy.quarantine.values()]
        """
    )
    assert reads == {"quarantine.*.centralized_days", "quarantine.*.home_days"}


def test_getattr_with_a_constant_name_is_the_attribute_otherwise_everything() -> None:
    reads = _reads(
        """
        def named(policy: Policy) -> object:
            return getattr(policy.testing, "pool_size")

        def computed(policy: Policy, name: str) -> object:
            return getattr(policy.discharge, name)
        """
    )
    assert reads == {"testing.pool_size", "discharge.**"}


def test_a_section_passed_to_an_annotated_scanned_function_is_followed() -> None:
    reads = _reads(
        """
        from other import suspend, unknown

        def rule(policy: Policy) -> None:
            if policy.inbound.circuit_breaker is not None:
                suspend(policy.inbound.circuit_breaker)
        """,
        other="""
        from fangkong.policy import CircuitBreaker

        def suspend(breaker: CircuitBreaker) -> int:
            return breaker.long_suspension_days

        def unknown(x):
            return x
        """,
    )
    assert reads == {"inbound.circuit_breaker.long_suspension_days"}


def test_a_section_the_scan_cannot_follow_counts_as_read_whole() -> None:
    reads = _reads(
        """
        import json
        from other import unannotated

        def rule(policy: Policy) -> str:
            unannotated(policy.inbound.circuit_breaker)
            return json.dumps(policy.risk_areas.model_dump()) + f"{policy.health_code}"
        """,
        other="""
        def unannotated(x):
            return x
        """,
    )
    assert reads == {"inbound.circuit_breaker.**", "risk_areas.**", "health_code.**"}


def test_a_function_returning_a_section_gives_a_section() -> None:
    reads = _reads(
        """
        def regime_of(policy: Policy) -> QuarantineRegime | None:
            return policy.regime(Population.CLOSE_CONTACT)

        def rule(policy: Policy) -> int:
            found = regime_of(policy)
            return found.home_days if found else 0
        """
    )
    # the caller's read: every place of the returned model (the scan does not track which)
    assert reads == {"quarantine.*.home_days"}


def test_a_policy_carried_by_a_dataclass_is_followed() -> None:
    reads = _reads(
        """
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Context:
            day: int
            policy: Policy

            def window(self) -> int:
                return self.policy.contacts.exposure_window_days

        def rule(ctx: Context) -> int:
            return ctx.policy.testing.positive_ct_below

        def run(policy: Policy) -> Context:
            return Context(1, policy)
        """
    )
    assert reads == {"contacts.exposure_window_days", "testing.positive_ct_below"}


def test_an_instance_the_scan_cannot_follow_reads_its_sections_whole() -> None:
    reads = _reads(
        """
        from dataclasses import dataclass

        @dataclass(frozen=True)
        class Context:
            policy: Policy

        def run(policy: Policy) -> None:
            print(Context(policy))
        """
    )
    assert reads == {"**"}


def test_methods_read_what_their_bodies_read() -> None:
    reads = _reads(
        """
        from fangkong.model.glossary import Severity

        def rule(policy: Policy) -> object:
            phases = policy.regime(Population.CLOSE_CONTACT).phases()
            return policy.treatment.setting_for(Severity.MILD), phases
        """
    )
    assert "treatment.**" in reads  # setting_for reads its field by a computed name
    assert {
        "quarantine.close_contact.centralized_days",
        "quarantine.close_contact.centralized_test_days",
        "quarantine.close_contact.home_days",
        "quarantine.close_contact.home_kind",
        "quarantine.close_contact.home_test_days",
    } <= reads


def test_a_policy_from_the_loader_is_a_section() -> None:
    reads = _reads(
        """
        from datetime import date
        from fangkong.policy import policy_in_force

        def rule(day: date) -> int:
            return policy_in_force(day).testing.pool_size
        """
    )
    assert reads == {"testing.pool_size"}


def test_a_parameter_asked_for_by_key() -> None:
    reads = _reads(
        """
        def rule(policy: Policy, key: str) -> str:
            return policy.source_of("testing.pool_size")
        """
    )
    assert reads == {"testing.pool_size"}


def test_rule_reads_is_cached() -> None:
    assert rule_reads() is rule_reads()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_policy_show_marks_unread_parameters(runner: CliRunner) -> None:
    result = runner.invoke(
        app, ["show", "cn-2022-06-28", "--key", "testing"], env={"COLUMNS": "240"}
    )
    assert result.exit_code == 0, result.output
    row = next(
        line
        for line in result.output.splitlines()
        if "testing.dilution_pooling_max_positivity_percent" in line
    )
    assert "UNREAD" in row
    row = next(line for line in result.output.splitlines() if "testing.positive_ct_below" in line)
    assert "UNREAD" not in row
    assert "read by no rule (UNREAD)" in result.output


def test_policy_show_json_carries_the_flag(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "cn-2022-06-28", "--format", "json"])
    params = json.loads(result.output)["parameters"]
    assert params["testing.dilution_pooling_max_positivity_percent"]["read_by_rules"] is False
    assert params["testing.positive_ct_below"]["read_by_rules"] is True
    flagged = {k for k, p in params.items() if not p["read_by_rules"]}
    assert flagged == KNOWN_UNREAD & set(params)


def test_policy_show_unread_lists_only_those(runner: CliRunner) -> None:
    result = runner.invoke(app, ["show", "cn-2023-01-08", "--unread", "--format", "json"])
    params = json.loads(result.output)["parameters"]
    expected = set(load_policy("cn-2023-01-08").parameters()) & KNOWN_UNREAD
    assert set(params) == expected and expected
    assert "contacts" not in params  # a documented absence has no value to read
