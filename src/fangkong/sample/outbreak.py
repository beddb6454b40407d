"""A small city's outbreak, as event files: the bundled sample that the demo runs through the
daily engine under the dynamic-zero regime.

Deterministic for a seed. The city: households in four districts of Shanghai, venues of every
category, quarantine sites and hospitals; each day residents scan venue codes, travellers arrive
on international flights, and some fly domestically. Infection spreads day by day from infected
arrivals and one local index case, through households and through shared venue visits (people at
the same venue within the same hour). Infections are found the way the system finds them: people
with symptoms get a single-tube test, and a district-wide round of 10-in-1 pooled tubes on day 9
catches others, whose single-tube retests follow the next day; a lab positive is reported as a
case the day after its result.

This is sample data, not the digital twin: the people here do not obey the engine's orders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from fangkong.sample.identity import ric_numbers, valid_birthplaces

__all__ = ["Outbreak", "write_outbreak"]

DISTRICTS = ("310104", "310105", "310106", "310115")  # 徐汇, 长宁, 静安, 浦东
ROUND_DISTRICT = "310104"
ROUND_DAY = 9
VENUE_CATEGORIES = (
    "essential",
    "essential",
    "essential",
    "open_air",
    "enclosed_entertainment",
    "elderly_care",
    "child_welfare",
)
_TS = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class Outbreak:
    """Where the files are, and what the outbreak holds."""

    directory: Path
    files: dict[str, Path]  # import kind -> file, in the order to import them
    first_day: date
    days: int
    infected: int
    cases_reported: int


def _people(n: int, rng: np.random.Generator) -> pl.DataFrame:
    sizes = rng.choice([1, 2, 3, 4, 5], size=n, p=[0.15, 0.3, 0.3, 0.17, 0.08])
    household = np.repeat(np.arange(1, n + 1), sizes)[:n]
    district = np.asarray(DISTRICTS)[rng.integers(0, len(DISTRICTS), household.max() + 1)]
    region = district[household]
    # one household in a hundred is registered in another province (协查 when traced)
    away = rng.random(household.max() + 1) < 0.01
    region = np.where(away[household], "320102", region)  # 南京市玄武区
    codes = valid_birthplaces().filter(
        pl.col("code").str.starts_with("3") & pl.col("since").is_null()
    )
    birthplace = codes.get_column("code").to_numpy()[rng.integers(0, codes.height, n)]
    born = np.datetime64("1940-01-01") + rng.integers(0, 365 * 78, n).astype("timedelta64[D]")
    male = rng.random(n) < 0.5
    return pl.DataFrame(
        {
            "person_id": np.arange(1, n + 1),
            "id_number": ric_numbers(birthplace.astype("<U6"), born, male, rng),
            "phone": np.char.add("139", np.char.zfill(rng.integers(0, 10**8, n).astype("<U8"), 8)),
            "household_id": household,
            "region_code": region,
        }
    )


def _venues(n: int, rng: np.random.Generator) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "venue_id": np.arange(1, n + 1),
            "region_code": np.asarray(DISTRICTS)[rng.integers(0, len(DISTRICTS), n)],
            "category": np.asarray(VENUE_CATEGORIES)[rng.integers(0, len(VENUE_CATEGORIES), n)],
            "name": [f"场所 {i}" for i in range(1, n + 1)],
            "capacity": rng.integers(20, 500, n),
        }
    )


FACILITIES = pl.DataFrame(
    {
        "facility_id": ["QS-01", "QS-02", "QS-03", "DH-01", "FC-01"],
        "kind": [
            "quarantine_site",
            "quarantine_site",
            "quarantine_site",
            "designated_hospital",
            "shelter_hospital",
        ],
        "region_code": ["310104", "310106", "310115", "310115", "310115"],
        "capacity": [120, 80, 200, 60, 400],
        "name": ["徐汇隔离点", "静安隔离点", "浦东隔离点", "市公共卫生临床中心", "方舱医院"],
    }
)


def _checkins(
    n_people: int, n_venues: int, first: date, days: int, rng: np.random.Generator
) -> pl.DataFrame:
    """Two scans a day per person on average, between 07:00 and 22:00, staying 20-120 minutes."""
    per_day = n_people * 2
    day = np.repeat(np.arange(days), per_day)
    person = rng.integers(1, n_people + 1, per_day * days)
    # people keep to a few venues near home: venue drawn around a person-specific anchor
    anchor = (person * 7919) % n_venues
    venue = (anchor + rng.integers(-15, 16, person.size)) % n_venues + 1
    start = np.datetime64(first) + day.astype("timedelta64[D]")
    checkin = start + rng.integers(7 * 3600, 22 * 3600, person.size).astype("timedelta64[s]")
    checkout = checkin + rng.integers(20 * 60, 120 * 60, person.size).astype("timedelta64[s]")
    frame = pl.DataFrame(
        {
            "person_id": person,
            "venue_id": venue,
            "in": checkin.astype("datetime64[us]"),
            "out": checkout.astype("datetime64[us]"),
        }
    )
    return frame.sort("in").with_row_index("scan_id", offset=1_000_001)


def _spread(
    people: pl.DataFrame,
    checkins: pl.DataFrame,
    seeds: dict[int, int],
    days: int,
    rng: np.random.Generator,
) -> dict[int, int]:
    """Infection day by person: seeds infect their household (8% a day) and people at the same
    venue in the same hour (0.4% a visit) from 2 to 8 days after their own infection."""
    household = people.get_column("household_id").to_numpy()
    infected = dict(seeds)
    visits = checkins.with_columns(
        ((pl.col("in") - pl.lit(checkins.get_column("in").min())).dt.total_days()).alias("day"),
        pl.col("in").dt.truncate("1h").alias("hour"),
    )
    for d in range(days):
        spreaders = np.array([p for p, t in infected.items() if 2 <= d - t <= 8], dtype=np.int64)
        if spreaders.size == 0:
            continue
        homes = np.isin(household, household[spreaders - 1])
        at_home = np.flatnonzero(homes & (rng.random(household.size) < 0.08)) + 1
        today = visits.filter(pl.col("day") == d)
        places = today.filter(pl.col("person_id").is_in(spreaders)).select("venue_id", "hour")
        met = today.join(places.unique(), on=["venue_id", "hour"]).get_column("person_id")
        met_arr = met.to_numpy()
        at_venue = met_arr[rng.random(met_arr.size) < 0.004]
        for p in np.concatenate([at_home, at_venue]).tolist():
            infected.setdefault(int(p), d)
    return infected


def write_outbreak(
    out_dir: str | Path,
    *,
    persons: int = 20_000,
    venues: int = 400,
    days: int = 21,
    first_day: date = date(2022, 7, 1),  # cn-2022-06-28 is in force
    seed: int = 20220401,
) -> Outbreak:
    """Write the outbreak's event files into `out_dir` and say what they hold."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    people = _people(persons, rng)
    checkins = _checkins(persons, venues, first_day, days, rng)
    t0 = datetime.combine(first_day, datetime.min.time())

    # arrivals: 15 a day on three routes; 1 in 15 infected abroad
    n_arr = 15 * days
    arr_day = np.repeat(np.arange(days), 15)
    arr_person = rng.choice(np.arange(1, persons + 1), n_arr, replace=False)
    flights = np.asarray(["MU552", "CA936", "FM868"])[rng.integers(0, 3, n_arr)]
    arr_infected = rng.random(n_arr) < 1 / 15
    seeds = {
        int(p): int(d) - 3
        for p, d in zip(arr_person[arr_infected], arr_day[arr_infected], strict=True)
    }
    local_index = int(rng.integers(1, persons + 1))
    seeds.setdefault(local_index, 0)
    infected = _spread(people, checkins, seeds, days, rng)

    samples, results, reports = _detect(people, infected, t0, days, rng)

    files = {
        "persons": out / "persons.csv",
        "venues": out / "venues.csv",
        "facilities": out / "facilities.csv",
        "checkins": out / "checkins.parquet",
        "arrivals": out / "arrivals.csv",
        "samples": out / "samples.csv",
        "results": out / "results.csv",
        "cases": out / "cases.csv",
    }
    people.write_csv(files["persons"])
    _venues(venues, rng).write_csv(files["venues"])
    FACILITIES.write_csv(files["facilities"])
    checkins.select(
        "scan_id",
        "person_id",
        "venue_id",
        pl.col("in").dt.replace_time_zone("Asia/Shanghai").alias("checkin_at"),
        pl.col("out").dt.replace_time_zone("Asia/Shanghai").alias("checkout_at"),
    ).write_parquet(files["checkins"])
    pl.DataFrame(
        {
            "arrival_id": [f"A{i:05d}" for i in range(n_arr)],
            "person_id": arr_person,
            "arrived_at": [
                (t0 + timedelta(days=int(d), hours=6 + int(i % 12))).strftime(_TS)
                for i, d in enumerate(arr_day)
            ],
            "port_region_code": "310115",
            "origin_country": np.asarray(["SG", "KR", "JP"])[rng.integers(0, 3, n_arr)],
            "flight": flights,
            "seat_row": rng.integers(1, 45, n_arr),
        }
    ).write_csv(files["arrivals"])
    pl.DataFrame(
        samples,
        schema={
            "sample_id": pl.String,
            "person_id": pl.Int64,
            "tube_id": pl.String,
            "sampled_at": pl.Datetime("us"),
            "round_id": pl.String,
        },
        orient="row",
    ).with_columns(pl.col("sampled_at").dt.strftime(_TS)).write_csv(files["samples"])
    pl.DataFrame(
        results,
        schema={
            "tube_id": pl.String,
            "result": pl.String,
            "ct_value": pl.Float64,
            "reported_at": pl.Datetime("us"),
        },
        orient="row",
    ).with_columns(pl.col("reported_at").dt.strftime(_TS)).write_csv(files["results"])
    imported = {int(p) for p in arr_person[arr_infected]}
    _case_file(reports, people, imported, t0, rng).write_csv(files["cases"])
    return Outbreak(out, files, first_day, days, len(infected), len(reports))


_Sample = tuple[str, int, str, datetime, str | None]
_Result = tuple[str, str, float | None, datetime]
_Report = tuple[int, int, str, date | None]


def _detect(
    people: pl.DataFrame,
    infected: dict[int, int],
    t0: datetime,
    days: int,
    rng: np.random.Generator,
) -> tuple[list[_Sample], list[_Result], list[_Report]]:
    """Tests and case reports: symptomatic people tested singly, and the district round."""
    first_day = t0.date()
    samples: list[_Sample] = []
    results: list[_Result] = []
    reports: list[_Report] = []
    # detection: 70% get symptoms 3-6 days after infection and a single-tube test that day
    inf_person = np.fromiter(infected.keys(), dtype=np.int64)
    inf_day = np.fromiter(infected.values(), dtype=np.int64)
    symptomatic = rng.random(inf_person.size) < 0.7
    onset = inf_day + rng.integers(3, 7, inf_person.size)
    tested = symptomatic & (onset < days - 1)
    ct = rng.uniform(18, 33, inf_person.size)
    for i in np.flatnonzero(tested):
        d = int(onset[i])
        tube = f"S{i:05d}"
        sampled = t0 + timedelta(days=d, hours=10)
        samples.append((f"X{i:05d}", int(inf_person[i]), tube, sampled, None))
        results.append((tube, "positive", round(float(ct[i]), 1), sampled + timedelta(hours=8)))
        reports.append((int(inf_person[i]), d + 1, "confirmed", first_day + timedelta(days=d)))
    # the district round: everyone living there, 10 to a tube; infected and not yet reported
    # people make their tube positive; members of positive tubes are retested singly next day
    home = people.filter(pl.col("region_code") == ROUND_DISTRICT).get_column("person_id")
    members = home.to_numpy()
    tube_of = np.arange(members.size) // 10
    reported = {r[0] for r in reports if r[1] <= ROUND_DAY}
    hot = np.isin(
        members, [p for p, t in infected.items() if t <= ROUND_DAY - 2 and p not in reported]
    )
    round_time = t0 + timedelta(days=ROUND_DAY, hours=8)
    round_id = f"R-{round_time.date().isoformat()}"
    for k, p in enumerate(members.tolist()):
        samples.append((f"R{k:06d}", p, f"P{tube_of[k]:05d}", round_time, round_id))
    positive_tubes = set(tube_of[hot].tolist())
    for t in range(int(tube_of.max()) + 1 if members.size else 0):
        pos = t in positive_tubes
        results.append(
            (
                f"P{t:05d}",
                "positive" if pos else "negative",
                30.5 if pos else None,
                round_time + timedelta(hours=10),
            )
        )
    for k in np.flatnonzero(np.isin(tube_of, list(positive_tubes))).tolist():
        p = int(members[k])
        retest = round_time + timedelta(days=1)
        samples.append((f"RT{k:06d}", p, f"RT{k:06d}", retest, None))
        positive = bool(hot[k])
        results.append(
            (
                f"RT{k:06d}",
                "positive" if positive else "negative",
                29.0 if positive else None,
                retest + timedelta(hours=8),
            )
        )
        if positive and days > ROUND_DAY + 2:
            reports.append((p, ROUND_DAY + 2, "asymptomatic", None))

    return samples, results, reports


def _case_file(
    reports: list[tuple[int, int, str, date | None]],
    people: pl.DataFrame,
    imported: set[int],
    t0: datetime,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """A report per detected person (the first detection; infections abroad are imported); one
    in ten confirmed cases turns severe four days on."""
    region = dict(
        zip(people.get_column("person_id"), people.get_column("region_code"), strict=True)
    )
    first: dict[int, tuple[int, int, str, date | None]] = {}
    for r in sorted(reports, key=lambda r: (r[1], r[0])):
        first.setdefault(r[0], r)
    rows: list[tuple[object, ...]] = []
    for n, (person, day, diagnosis, onset) in enumerate(first.values()):
        origin = "imported" if person in imported else "local"
        case = f"OB{n + 1:05d}"
        at = t0 + timedelta(days=day, hours=9, minutes=n % 60)
        rows.append(
            (
                f"{case}-1",
                case,
                person,
                region[person],
                at.strftime(_TS),
                "report",
                diagnosis,
                origin,
                None,
                onset,
            )
        )
        if diagnosis == "confirmed" and rng.random() < 0.1:
            later = at + timedelta(days=4)
            rows.append(
                (
                    f"{case}-2",
                    case,
                    person,
                    region[person],
                    later.strftime(_TS),
                    "severity",
                    None,
                    None,
                    "severe",
                    None,
                )
            )
    return pl.DataFrame(
        rows,
        schema={
            "report_id": pl.String,
            "case_id": pl.String,
            "person_id": pl.Int64,
            "region_code": pl.String,
            "reported_at": pl.String,
            "event_type": pl.String,
            "diagnosis": pl.String,
            "origin": pl.String,
            "severity": pl.String,
            "onset_date": pl.Date,
        },
        orient="row",
    )
