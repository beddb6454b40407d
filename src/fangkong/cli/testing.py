"""`fangkong round`: mass-testing rounds (区域核酸筛查) — `fangkong round progress ROUND_ID`."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

import typer

from fangkong.cli.common import DEFAULT_STORE, StoreOption, fail, opened_store
from fangkong.engine.frames import LOCAL_ZONE
from fangkong.engine.testing import RoundProgress, round_progress
from fangkong.errors import FangkongError

__all__ = ["app"]

app = typer.Typer(
    help="Mass-testing rounds (区域核酸筛查) with pooled tubes.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def round_group() -> None:
    """Mass-testing rounds (区域核酸筛查) with pooled tubes."""


_LABELS = (
    ("persons_to_test", "persons to test"),
    ("sampled", "sampled"),
    ("not_yet_sampled", "not yet sampled"),
    ("tubes", "tubes"),
    ("tubes_tested", "tubes tested"),
    ("tubes_outstanding", "tubes outstanding"),
    ("tubes_overdue", "  of which overdue"),
    ("tubes_invalid", "tubes invalid"),
    ("positive_tubes", "positive tubes"),
    ("positives_confirmed", "positives confirmed"),
    ("awaiting_retest", "awaiting retest"),
)


def _as_of(text: str | None) -> datetime:
    if text is None:
        return datetime.now(LOCAL_ZONE)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"not a date-time (YYYY-MM-DDTHH:MM[:SS][+08:00]): {text!r}", param_hint="--as-of"
        ) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=LOCAL_ZONE)


def render_progress(progress: RoundProgress) -> str:
    """The progress as aligned lines of text."""
    scope = f"region {progress.region}" if progress.region else "all persons"
    local = progress.as_of.astimezone(LOCAL_ZONE)
    head = f"round {progress.round_id} ({scope}) at {local:%Y-%m-%d %H:%M} Beijing time"
    width = max(len(label) for _, label in _LABELS)
    lines = [head]
    for key, label in _LABELS:
        lines.append(f"{label:<{width}}  {getattr(progress, key):>12,}")
    if progress.persons_to_test:
        share = progress.sampled / progress.persons_to_test
        lines.append(f"{'sampled share':<{width}}  {share:>12.1%}")
    return "\n".join(lines)


@app.command("progress")
def progress_command(
    round_id: Annotated[str, typer.Argument(help="The round id of the samples (sample.round_id).")],
    *,
    region: Annotated[
        str | None,
        typer.Option("--region", "-r", help="Only residents of this division code (a prefix)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The instant to report at (ISO; Beijing time if no offset)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    store: StoreOption = DEFAULT_STORE,
) -> None:
    """The progress of a testing round: sampled, tubes tested, positives, outstanding, not yet
    sampled."""
    at = _as_of(as_of)
    with opened_store(store, existing=True) as st:
        try:
            progress = round_progress(st, round_id, at, region=region)
        except FangkongError as exc:
            raise fail(exc) from exc
    if as_json:
        typer.echo(json.dumps(progress.as_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(render_progress(progress))
