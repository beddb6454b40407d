"""The SQL of the testing step (`fangkong.engine.testing` documents the rules), written once for
DuckDB and PostgreSQL. Each query is one statement of common table expressions over whole
tables; nothing here loops over tubes or samples.

Parameters every query built on `core_ctes` binds:

    :until           the instant the state is read at (reports `op` :until count)
    :ct              the general Ct cut-off (positive below it)
    :inbound_ct      the cut-off for inbound people
    :inbound_window  how far back an arrival makes a person inbound (an INTERVAL)

The CTEs of `core_ctes`, in order:

    last_report, eff   each tube's latest report as of :until (its result); with
                       `all_tubes=False`, only of the tubes with a report that is not
                       negative (the others' latest result is negative: no rule of the
                       orders or of temporary control starts from them, and reading every
                       tube's latest report grows with the history of testing)
    <pre>              extra CTEs of the caller, which may read `eff`
    cand               the tubes whose members and cut-off are needed (given by the caller;
                       it must hold every tube whose result is 'positive')
    mem                the samples in `cand` tubes, each flagged inbound or not
    tube               per `cand` tube: samples, last sampling time, all-inbound, its cut-off
    st                 per `cand` tube with a result: the result classified (`status`:
                       positive, weak, negative, invalid)
    ep                 temporary control: the members of each pooled tube positive at :until
    rs, single         their samples taken since the control began, and which tubes are single
    rs_eff             the latest report of each of those tubes (read apart from `eff`:
                       a retest is mostly negative)
    res                per (member, pool): the first single-tube retest with a definitive
                       result (negative or positive), if any
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from fangkong.engine.episode import active_at, episode_ctes
from fangkong.engine.scenario import Scenario
from fangkong.store.person_view import current_person

__all__ = [
    "LATEST_NEGATIVE_SQL",
    "MAY_ORDER_SQL",
    "PARTS",
    "UNDER_CONTROL_SQL",
    "core_ctes",
    "fresh",
    "latest_negative_sql",
    "orders_sql",
    "round_progress_sql",
]

Op = Literal["<", "<="]

STATUS = """CASE
        WHEN e.result = 'positive' AND (e.ct_value IS NULL OR e.ct_value < t.cut) THEN 'positive'
        WHEN e.result = 'positive' THEN 'weak'
        ELSE e.result
    END"""


def core_ctes(
    op: Op, cand: str, pre: str = "", *, all_tubes: bool = True, pools: bool = True
) -> str:
    """The shared CTEs (without the leading WITH), as of `:until` with comparison `op`; `eff`
    of every tube, or (`all_tubes=False`) of those with a report that is not negative; with
    `pools=False`, only up to `st` (no temporary control: the caller knows no positive pool
    exists)."""
    pre_block = f"{pre.strip()},\n" if pre else ""
    some = (
        ""
        if all_tubes
        else "AND tube_id IN (SELECT tube_id FROM tube_result"
        f" WHERE \"result\" <> 'negative' AND reported_at {op} :until)"
    )
    return f"""
last_report AS (
    SELECT tube_id, max(reported_at) AS reported_at
    FROM tube_result
    WHERE reported_at {op} :until {some}
    GROUP BY tube_id
),
eff AS MATERIALIZED (
    SELECT r.tube_id, r.result, r.ct_value, r.reported_at, r.batch_id
    FROM tube_result r
    JOIN last_report l ON l.tube_id = r.tube_id AND l.reported_at = r.reported_at
),
{pre_block}cand AS MATERIALIZED (
    {cand}
),
mem AS MATERIALIZED (
    SELECT s.tube_id, s.person_id, s.sampled_at,
           EXISTS (
               SELECT 1 FROM arrival a
               WHERE a.person_id = s.person_id
                 AND a.arrived_at <= s.sampled_at
                 AND a.arrived_at > s.sampled_at - :inbound_window
           ) AS inbound
    FROM sample s
    JOIN cand c ON c.tube_id = s.tube_id
    WHERE s.sampled_at {op} :until
),
tube AS MATERIALIZED (
    SELECT tube_id, count(*) AS n, max(sampled_at) AS sampled_at,
           bool_and(inbound) AS inbound,
           max(CASE WHEN inbound THEN :inbound_ct ELSE :ct END) AS cut
    FROM mem
    GROUP BY tube_id
),
st AS MATERIALIZED (
    SELECT e.tube_id, e.result, e.ct_value, e.reported_at, e.batch_id,
           t.n, t.sampled_at, t.inbound, t.cut,
           {STATUS} AS status
    FROM eff e
    JOIN tube t ON t.tube_id = e.tube_id
){_pool_ctes(op) if pools else ""}"""


def _pool_ctes(op: Op) -> str:
    """The CTEs of temporary control, after `st` (see `core_ctes`)."""
    return f""",
ep AS MATERIALIZED (
    SELECT DISTINCT m.person_id, st.tube_id AS pool_id, st.reported_at AS start_at
    FROM st
    JOIN mem m ON m.tube_id = st.tube_id
    WHERE st.n > 1 AND st.status = 'positive'
),
rs AS MATERIALIZED (
    SELECT DISTINCT ep.person_id, ep.pool_id, s.tube_id
    FROM ep
    JOIN sample s ON s.person_id = ep.person_id
    WHERE s.sampled_at >= ep.start_at AND s.sampled_at {op} :until
),
single AS (
    SELECT s.tube_id
    FROM sample s
    WHERE s.tube_id IN (SELECT tube_id FROM rs) AND s.sampled_at {op} :until
    GROUP BY s.tube_id
    HAVING count(*) = 1
),
rs_eff AS MATERIALIZED (
    SELECT r.tube_id, r.result, r.reported_at, r.batch_id
    FROM tube_result r
    JOIN (
        SELECT tube_id, max(reported_at) AS reported_at
        FROM tube_result
        WHERE reported_at {op} :until AND tube_id IN (SELECT tube_id FROM single)
        GROUP BY tube_id
    ) l ON l.tube_id = r.tube_id AND l.reported_at = r.reported_at
),
res AS MATERIALIZED (
    SELECT person_id, pool_id, tube_id, reported_at, batch_id, status
    FROM (
        SELECT rs.person_id, rs.pool_id, rs.tube_id, e.reported_at, e.batch_id,
               coalesce(st.status, e.result) AS status,
               row_number() OVER (
                   PARTITION BY rs.person_id, rs.pool_id ORDER BY e.reported_at, rs.tube_id
               ) AS k
        FROM rs
        JOIN single ON single.tube_id = rs.tube_id
        JOIN rs_eff e ON e.tube_id = rs.tube_id
        LEFT JOIN st ON st.tube_id = rs.tube_id
        WHERE coalesce(st.status, e.result) IN ('negative', 'positive')
    ) x
    WHERE k = 1
)"""


_POSITIVE_TUBES = "SELECT tube_id FROM eff WHERE result = 'positive'"


def fresh(alias: str) -> str:
    """SQL: result `alias` is new to the run of the day: reported on the day, or reported
    earlier and imported after the previous run (:w_prev < batch_id <= :w_cur), or reported
    after the previous run's day (:fresh_since)."""
    return (
        f"({alias}.reported_at >= :day_start OR {alias}.reported_at >= :fresh_since"
        f" OR ({alias}.batch_id > :w_prev AND {alias}.batch_id <= :w_cur))"
    )


# -- the orders of a day --------------------------------------------------------------------------
# Extra parameters: :day_start (the day's start; :until is its end), :w_prev and :w_cur (the
# run's batch watermarks), the scenario's :scenario and :fork_day, :repeat_window,
# :lost_from / :lost_to (tubes last sampled in this interval are due by the day's end) and
# :deadline (the interval after sampling by which a result is due).

_PREV = """
prev AS MATERIALIZED (
    SELECT r.tube_id, r.ct_value, r.reported_at
    FROM tube_result r
    JOIN (
        SELECT tube_id, max(reported_at) AS reported_at
        FROM tube_result
        WHERE reported_at < :day_start
          AND tube_id IN (SELECT tube_id FROM eff WHERE reported_at >= :day_start)
        GROUP BY tube_id
    ) l ON l.tube_id = r.tube_id AND l.reported_at = r.reported_at
    WHERE r.result = 'positive'
)"""

_ORDERS_CAND = f"""SELECT tube_id FROM eff
    WHERE result = 'positive' OR (result <> 'negative' AND {fresh("eff")})"""

# (no quote mark in a comment of the SQL: the parameter rewriting reads it as a string)
# Columns of every branch: person_id, order_type, start_at, detail, rule, ct, cut, n, inbound,
# note (the result a correction or an unknown tube reported).
_NO_FACTS = (
    "CAST(NULL AS DOUBLE PRECISION) AS ct, CAST(NULL AS DOUBLE PRECISION) AS cut, "
    "CAST(NULL AS BIGINT) AS n, CAST(NULL AS BOOLEAN) AS inbound, CAST(NULL AS VARCHAR) AS note"
)
_TUBE_FACTS = "st.ct_value AS ct, st.cut, st.n, st.inbound, CAST(NULL AS VARCHAR) AS note"

# The rules of the day's orders fall in groups, each with a necessary condition that
# `MAY_ORDER_SQL` checks cheaply (one column each); `orders_sql` reads only what the groups whose
# condition holds need (the statement's planning costs DuckDB more than running it on the few
# tubes of a day). A result new to the run that is not negative (pool_positive, single_positive,
# retest_positive, weak_positive, invalid, unknown_tube); a pooled tube reported positive by the
# day's end (temporary control: what names a member's retest, and pool_positive); a result new
# to the run of a person sampled after a positive pool they were in (retest_negative,
# pool_not_confirmed); a report on the day for a tube reported positive before it
# (pool_corrected); a sample whose tube has no result by the deadline falling on the day
# (tube_not_returned).
RESULTS, POOLS, RELEASES, CORRECTIONS, LOST = (
    "results",
    "pools",
    "releases",
    "corrections",
    "lost",
)
PARTS = frozenset((RESULTS, POOLS, RELEASES, CORRECTIONS, LOST))


def orders_sql(
    scenario: Scenario | None, kept: date | None = None, parts: frozenset[str] = PARTS
) -> str:
    """The facts of the day's testing orders (see `fangkong.engine.testing`), for `scenario`
    (whose case episodes say who is a case already; `kept`: see `episode_ctes`), of the rules
    of `parts` (the groups whose condition `MAY_ORDER_SQL` found: the others give no order).

    It reads the relations `tube_result`, `sample` and `arrival`, and the case episodes: with a
    `scenario`, on the store (its tables, the episodes read from the case events); with None,
    over frames a caller registered (`fangkong.engine.testing.PooledTestingFacts`), where
    `episode` (person_id, opened_at, closed_at) is a relation too."""
    results, pools, releases = RESULTS in parts, POOLS in parts, RELEASES in parts
    corrections, lost = CORRECTIONS in parts, LOST in parts
    control = releases or (results and pools)  # temporary control and its retests are read
    ctes: list[str] = []
    if results or releases or corrections:
        cand = _ORDERS_CAND + ("\n    UNION\n    SELECT tube_id FROM prev" if corrections else "")
        pre = _PREV if corrections else ""
        ctes.append(core_ctes("<", cand, pre, all_tubes=False, pools=control))
    if results:
        if scenario is not None:
            ctes.append(episode_ctes(scenario, persons="SELECT person_id FROM mem", kept=kept))
        ctes.append(_SP)
    if releases:
        ctes.append(_VERDICT)
    if lost:
        ctes.append(_LOST)
    branches: list[str] = []
    if results and pools:
        branches.append(_POOL_POSITIVE)
    if results:
        retest = (
            "CASE WHEN EXISTS (SELECT 1 FROM res WHERE res.tube_id = sp.tube_id)"
            " THEN 'testing.retest_positive' ELSE 'testing.single_positive' END"
            if control
            else "'testing.single_positive'"
        )
        branches += [_SINGLE_POSITIVE.format(rule=retest), _RETEST, _UNKNOWN_TUBE]
    if releases:
        branches.append(_RELEASE)
    if corrections:
        branches.append(_CORRECTED)
    if lost:
        branches.append(_NOT_RETURNED)
    union = "\n\n    UNION ALL".join(branches)
    with_ = ",".join(c.strip("\n") for c in ctes)
    return f"""
WITH {with_},
orders AS ({union}
)
SELECT DISTINCT person_id, order_type, start_at, detail, rule, ct, cut, n, inbound, note
FROM orders
ORDER BY rule, detail, person_id, order_type
"""


_SP = """
sp AS (
    SELECT m.person_id, st.tube_id, st.reported_at, st.batch_id
    FROM st
    JOIN mem m ON m.tube_id = st.tube_id
    WHERE st.n = 1 AND st.status = 'positive'
)"""

_VERDICT = """
verdict AS (
    SELECT ep.pool_id, count(*) AS members, count(res.person_id) AS resolved,
           count(*) FILTER (WHERE res.status = 'positive') AS positives,
           max(res.reported_at) AS last_at, max(res.batch_id) AS last_batch
    FROM ep
    LEFT JOIN res ON res.person_id = ep.person_id AND res.pool_id = ep.pool_id
    GROUP BY ep.pool_id
)"""

_LOST = """
lost AS (
    SELECT tube_id, max(sampled_at) AS sampled_at
    FROM sample
    WHERE sampled_at >= :lost_from AND sampled_at < :until
    GROUP BY tube_id
    HAVING max(sampled_at) < :lost_to
)"""

_POOL_POSITIVE = f"""
    -- a pooled tube positive: temporary control and a single-tube retest for each member
    SELECT DISTINCT m.person_id, v.order_type, st.reported_at AS start_at, st.tube_id AS detail,
           'testing.pool_positive' AS rule, {_TUBE_FACTS}
    FROM st
    JOIN mem m ON m.tube_id = st.tube_id
    CROSS JOIN (VALUES ('temporary_control'), ('retest')) v(order_type)
    WHERE st.n > 1 AND st.status = 'positive' AND {fresh("st")}"""

# {{rule}}: the rule's name (a retest of a member of a positive pool is retest_positive)
_SINGLE_POSITIVE = f"""
    -- a single tube positive: a case report, unless a repeat or a known case
    SELECT sp.person_id, 'report_case' AS order_type, sp.reported_at AS start_at,
           sp.tube_id AS detail, {{rule}} AS rule, {_TUBE_FACTS}
    FROM sp
    JOIN st ON st.tube_id = sp.tube_id
    WHERE {fresh("sp")}
      AND NOT EXISTS (
          SELECT 1 FROM sp e
          WHERE e.person_id = sp.person_id
            AND e.reported_at >= sp.reported_at - :repeat_window
            AND (e.reported_at < sp.reported_at
                 OR (e.reported_at = sp.reported_at AND e.tube_id < sp.tube_id))
      )
      AND NOT EXISTS (
          SELECT 1 FROM episode e
          WHERE e.person_id = sp.person_id AND {active_at("e", "sp.reported_at")}
      )"""

_RETEST = f"""
    -- a positive at or above the cut-off, or invalid: a retest for each member
    SELECT DISTINCT m.person_id, 'retest' AS order_type, st.reported_at AS start_at,
           st.tube_id AS detail,
           CASE WHEN st.status = 'weak' THEN 'testing.weak_positive' ELSE 'testing.invalid' END
               AS rule,
           {_TUBE_FACTS}
    FROM st
    JOIN mem m ON m.tube_id = st.tube_id
    WHERE st.status IN ('weak', 'invalid') AND {fresh("st")}"""

_RELEASE = f"""
    -- the first definitive retest of a member is negative: release (the last of a pool whose
    -- retests are all negative names the contradiction)
    SELECT res.person_id, 'release_control' AS order_type, res.reported_at AS start_at,
           res.pool_id AS detail,
           CASE WHEN v.resolved = v.members AND v.positives = 0
                     AND (v.last_at >= :day_start OR v.last_at >= :fresh_since
                          OR (v.last_batch > :w_prev AND v.last_batch <= :w_cur))
                THEN 'testing.pool_not_confirmed' ELSE 'testing.retest_negative' END AS rule,
           CAST(NULL AS DOUBLE PRECISION) AS ct, CAST(NULL AS DOUBLE PRECISION) AS cut,
           v.members AS n, CAST(NULL AS BOOLEAN) AS inbound, CAST(NULL AS VARCHAR) AS note
    FROM res
    JOIN verdict v ON v.pool_id = res.pool_id
    WHERE res.status = 'negative' AND {fresh("res")}"""

_CORRECTED = """
    -- a pool positive at the start of the day whose result a later report replaced: release
    SELECT DISTINCT m.person_id, 'release_control' AS order_type, st.reported_at AS start_at,
           st.tube_id AS detail, 'testing.pool_corrected' AS rule, st.ct_value AS ct, st.cut,
           st.n, st.inbound, st.status AS note
    FROM prev
    JOIN st ON st.tube_id = prev.tube_id
    JOIN mem m ON m.tube_id = st.tube_id
    WHERE st.n > 1 AND st.status <> 'positive'
      AND (prev.ct_value IS NULL OR prev.ct_value < st.cut)"""

_NOT_RETURNED = f"""
    -- a tube whose result is overdue at the end of the day: a retest for each member
    SELECT DISTINCT s.person_id, 'retest' AS order_type, l.sampled_at + :deadline AS start_at,
           l.tube_id AS detail, 'testing.tube_not_returned' AS rule, {_NO_FACTS}
    FROM lost l
    JOIN sample s ON s.tube_id = l.tube_id
    WHERE NOT EXISTS (
        SELECT 1 FROM tube_result r WHERE r.tube_id = l.tube_id AND r.reported_at < :until
    )"""

_UNKNOWN_TUBE = f"""
    -- a result that is not negative for a tube with no registered sample: members unknown
    SELECT CAST(NULL AS BIGINT) AS person_id, 'retest' AS order_type, e.reported_at AS start_at,
           e.tube_id AS detail, 'testing.unknown_tube' AS rule, e.ct_value AS ct,
           CAST(NULL AS DOUBLE PRECISION) AS cut, CAST(NULL AS BIGINT) AS n,
           CAST(NULL AS BOOLEAN) AS inbound, e.result AS note
    FROM eff e
    WHERE {fresh("e")} AND e.result <> 'negative'
      AND NOT EXISTS (SELECT 1 FROM tube t WHERE t.tube_id = e.tube_id)"""


# Which groups of rules can give an order on the day (`orders_sql`): one boolean column per
# group, in cheap lookups (most days of a quiet city have none of them). The results that are
# not negative are few: they are read once. Same parameters as `orders_sql`.
MAY_ORDER_SQL = f"""
WITH nonneg AS MATERIALIZED (
    SELECT tube_id, "result", reported_at, batch_id FROM tube_result
    WHERE "result" <> 'negative' AND reported_at < :until
),
pool AS MATERIALIZED (
    SELECT tube_id, min(reported_at) AS reported_at FROM nonneg
    WHERE "result" = 'positive' AND tube_id IN (
        SELECT tube_id FROM sample
        WHERE sampled_at < :until
          AND tube_id IN (SELECT tube_id FROM nonneg WHERE "result" = 'positive')
        GROUP BY tube_id
        HAVING count(*) > 1
    )
    GROUP BY tube_id
)
SELECT
    EXISTS (SELECT 1 FROM nonneg r WHERE {fresh("r")}) AS {RESULTS},
    EXISTS (SELECT 1 FROM pool) AS {POOLS},
    EXISTS (
        SELECT 1 FROM pool p
        JOIN sample m ON m.tube_id = p.tube_id
        JOIN sample s ON s.person_id = m.person_id AND s.sampled_at >= p.reported_at
        JOIN tube_result r ON r.tube_id = s.tube_id
        WHERE r.reported_at < :until AND {fresh("r")}
    ) AS {RELEASES},
    EXISTS (
        SELECT 1 FROM tube_result r
        JOIN nonneg p ON p.tube_id = r.tube_id AND p."result" = 'positive'
         AND p.reported_at < :day_start
        WHERE r.reported_at >= :day_start AND r.reported_at < :until
    ) AS {CORRECTIONS},
    EXISTS (
        SELECT 1 FROM sample s
        WHERE s.sampled_at >= :lost_from AND s.sampled_at < :lost_to
          AND NOT EXISTS (
              SELECT 1 FROM tube_result r WHERE r.tube_id = s.tube_id AND r.reported_at < :until
          )
    ) AS {LOST}
"""


# -- state as of an instant -----------------------------------------------------------------------


# A tube counts by its latest report. Most tubes have only negative reports: every one of their
# reports is negative, so they are read without finding each tube's latest (a grouping of every
# tube ever tested); only the few tubes with a report that is not negative are grouped.
def latest_negative_sql(tubes: str = "", persons: str = "") -> str:
    """Per person, the latest negative test as of :until (`testing.latest_negative`): a tube
    counts by its latest report, negative. `tubes`: a query of tube_id, the only tubes read
    (the tubes new to a run: `fangkong.engine.negatives`); `persons`: a condition on
    `s.person_id`, the only people read."""
    who = f" AND {persons}" if persons else ""
    if tubes:
        # a few tubes: each one's latest report and its latest negative one, in one pass over
        # the reports (a tube counts when they are at the same instant); grouping every tube
        # ever reported costs more than the form below, which groups only the mixed ones
        return f"""
WITH tubes AS MATERIALIZED ({tubes}),
last AS (
    SELECT tube_id, max(reported_at) AS reported_at,
           max(reported_at) FILTER (WHERE "result" = 'negative') AS negative_at
    FROM tube_result
    WHERE reported_at <= :until AND tube_id IN (SELECT tube_id FROM tubes)
    GROUP BY tube_id
)
SELECT s.person_id, max(s.sampled_at) AS sampled_at, max(n.reported_at) AS reported_at
FROM sample s
JOIN last n ON n.tube_id = s.tube_id AND n.negative_at = n.reported_at
WHERE s.sampled_at <= :until{who}
GROUP BY s.person_id
"""
    return f"""
WITH mixed AS (
    SELECT DISTINCT tube_id FROM tube_result
    WHERE "result" <> 'negative' AND reported_at <= :until
),
last_mixed AS (
    SELECT tube_id, max(reported_at) AS reported_at
    FROM tube_result
    WHERE reported_at <= :until AND tube_id IN (SELECT tube_id FROM mixed)
    GROUP BY tube_id
),
neg AS (
    SELECT r.tube_id, r.reported_at
    FROM tube_result r
    WHERE r.reported_at <= :until AND r."result" = 'negative'
      AND r.tube_id NOT IN (SELECT tube_id FROM mixed)
    UNION ALL
    SELECT r.tube_id, r.reported_at
    FROM tube_result r
    JOIN last_mixed l ON l.tube_id = r.tube_id AND l.reported_at = r.reported_at
    WHERE r."result" = 'negative'
)
SELECT s.person_id, max(s.sampled_at) AS sampled_at, max(n.reported_at) AS reported_at
FROM sample s
JOIN neg n ON n.tube_id = s.tube_id
WHERE s.sampled_at <= :until{who}
GROUP BY s.person_id
"""  # unordered: the colours join it to every person (sorting 20 million rows costs seconds)


LATEST_NEGATIVE_SQL = latest_negative_sql()

UNDER_CONTROL_SQL = f"""
WITH {core_ctes("<=", _POSITIVE_TUBES, all_tubes=False)}
SELECT ep.person_id, ep.pool_id AS tube_id, ep.start_at AS since
FROM ep
WHERE NOT EXISTS (
    SELECT 1 FROM res WHERE res.person_id = ep.person_id AND res.pool_id = ep.pool_id
)
ORDER BY ep.person_id, ep.start_at, ep.pool_id
"""


def round_progress_sql(*, by_region: bool) -> str:
    """The progress of round `:round_id` as of `:until`; with `by_region`, the residents of the
    regions whose code starts with `:region_prefix` only. Extra parameter: :overdue_before."""
    if by_region:
        pop = (
            f"SELECT person_id FROM {current_person(':until')} p "
            "WHERE region_code LIKE :region_prefix"
        )
        scope = "JOIN pop p ON p.person_id = s.person_id"
    else:
        pop = "SELECT person_id FROM person"
        scope = ""
    return f"""
WITH {core_ctes("<=", _POSITIVE_TUBES)},
pop AS MATERIALIZED ({pop}),
rsamp AS MATERIALIZED (
    SELECT s.person_id, s.tube_id, s.sampled_at
    FROM sample s {scope}
    WHERE s.round_id = :round_id AND s.sampled_at <= :until
),
rtube AS MATERIALIZED (
    SELECT tube_id, max(sampled_at) AS sampled_at FROM rsamp GROUP BY tube_id
)
SELECT
    (SELECT count(*) FROM pop) AS persons_to_test,
    (SELECT count(DISTINCT person_id) FROM rsamp) AS sampled,
    (SELECT count(*) FROM pop
     WHERE NOT EXISTS (SELECT 1 FROM rsamp WHERE rsamp.person_id = pop.person_id))
        AS not_yet_sampled,
    (SELECT count(*) FROM rtube) AS tubes,
    (SELECT count(*) FROM rtube JOIN eff ON eff.tube_id = rtube.tube_id) AS tubes_tested,
    (SELECT count(*) FROM rtube
     WHERE NOT EXISTS (SELECT 1 FROM eff WHERE eff.tube_id = rtube.tube_id))
        AS tubes_outstanding,
    (SELECT count(*) FROM rtube
     WHERE rtube.sampled_at < :overdue_before
       AND NOT EXISTS (SELECT 1 FROM eff WHERE eff.tube_id = rtube.tube_id)) AS tubes_overdue,
    (SELECT count(*) FROM rtube
     JOIN eff ON eff.tube_id = rtube.tube_id
     WHERE eff.result = 'invalid') AS tubes_invalid,
    (SELECT count(*) FROM rtube
     JOIN st ON st.tube_id = rtube.tube_id
     WHERE st.status = 'positive') AS positive_tubes,
    (SELECT count(DISTINCT person_id) FROM (
        SELECT rsamp.person_id
        FROM rsamp
        JOIN st ON st.tube_id = rsamp.tube_id
        WHERE st.n = 1 AND st.status = 'positive'
        UNION
        SELECT res.person_id
        FROM res
        JOIN rsamp ON rsamp.tube_id = res.pool_id AND rsamp.person_id = res.person_id
        WHERE res.status = 'positive'
    ) x) AS positives_confirmed,
    (SELECT count(DISTINCT ep.person_id)
     FROM ep
     JOIN rsamp ON rsamp.tube_id = ep.pool_id AND rsamp.person_id = ep.person_id
     WHERE NOT EXISTS (
         SELECT 1 FROM res WHERE res.person_id = ep.person_id AND res.pool_id = ep.pool_id
     )) AS awaiting_retest
"""
