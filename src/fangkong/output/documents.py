"""Order documents (隔离/收治通知书): one HTML file per person who has a quarantine, extension,
admission or monitoring order, naming the person (from `person_identity`: the document is
for them), every order of theirs in the frame (dates, place, test days), and the legal basis:
《中华人民共和国传染病防治法》, the policy file's title and id, and the rule of each order.

The pages are built as whole-frame string expressions (every value HTML-escaped); Python only
writes the files. The file name is the person id; nothing personal is logged.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from fangkong.engine.frames import IDS, ids_of, read
from fangkong.engine.orders import check_orders
from fangkong.errors import FangkongError
from fangkong.model.glossary import OrderType
from fangkong.policy import load_policy
from fangkong.private_files import private_directory, write_private
from fangkong.store import Store
from fangkong.store.person_view import current_identity

__all__ = ["LAW", "order_documents"]

log = logging.getLogger(__name__)

LAW = "《中华人民共和国传染病防治法》"

_FOR = (OrderType.QUARANTINE, OrderType.EXTEND, OrderType.ADMIT, OrderType.MONITOR)
_ORDER = {"transfer": 0, "quarantine": 1, "extend": 1, "admit": 1, "monitor": 2, "test": 3}

_LABELS = {
    "quarantine": "隔离 quarantine",
    "extend": "延长隔离 extension",
    "test": "核酸检测 test",
    "transfer": "转运 transfer",
    "release": "解除隔离 release",
    "convert": "转为病例 conversion",
    "admit": "收治 admission",
    "discharge": "出院 discharge",
    "monitor": "健康监测 monitoring",
    "temporary_control": "临时管控 temporary control",
    "retest": "复核 retest",
    "release_control": "解除临时管控 release from control",
    "report_case": "报告 case report",
    "assist": "协查 assistance request",
}
_KINDS = {
    "centralized_quarantine": "集中隔离 centralized quarantine",
    "home_isolation": "居家隔离 home isolation",
    "home_medical_observation": "居家医学观察 home medical observation",
    "home_health_monitoring": "居家健康监测 home health monitoring",
    "designated_hospital": "定点医院 designated hospital",
    "shelter_hospital": "方舱医院 shelter hospital",
    "centralized_isolation": "集中隔离 centralized isolation",
}

_STYLE = """body {font-family:sans-serif;margin:2em} table {border-collapse:collapse}
td,th {border:1px solid #888;padding:.3em .6em;text-align:left}"""

# pl.format fills each "{}" (the style sheet's braces go in as a value)
_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{}</title>
<style>{}</style></head>
<body>
<h1>隔离及医学管理通知书 · Notice of quarantine and medical orders</h1>
<p>姓名 Name: <strong>{}</strong> （编号 person id {}）</p>
<table>
<tr><th>指令 Order</th><th>内容 Detail</th><th>开始 From</th><th>结束 Until</th>\
<th>地点 Place</th><th>规则 Rule</th><th>原因 Reason</th></tr>
{}
</table>
<p>核酸检测日 Test days: {}</p>
<h2>法律依据 Legal basis</h2>
<p>依据{}及以下防控政策 Under the Law of the People's Republic of China on the Prevention and \
Treatment of Infectious Diseases and the policy:</p>
<ul>{}</ul>
</body></html>
"""


def _escaped(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).str.replace_many(
        ["&", "<", ">", '"', "'"], ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
    )


def _when(expr: pl.Expr) -> pl.Expr:
    return expr.dt.strftime("%Y-%m-%d %H:%M").str.replace(" 00:00", "", literal=True).fill_null("")


def _policy_titles(policy_ids: list[str]) -> dict[str, str]:
    titles = {}
    for pid in policy_ids:  # the few policies named by the orders
        try:
            policy = load_policy(pid)
        except FangkongError:
            titles[pid] = f"policy {pid}"
            continue
        titles[pid] = f"{policy.title_zh or ''} {policy.title} ({pid})".strip()
    return titles


def order_documents(store: Store, orders: pl.DataFrame, out_dir: Path) -> int:
    """Write `<person_id>.html` into `out_dir` for each person with a quarantine, extension,
    admission or monitoring order in `orders`; returns the number of files written."""
    orders = check_orders(orders).filter(pl.col("person_id").is_not_null())
    ids = ids_of(
        orders.filter(pl.col("order_type").is_in([t.value for t in _FOR])).get_column("person_id")
    )
    if not ids:
        return 0
    names = read(
        store,
        # the name as it stands when the document is written (the latest correction)
        f"SELECT person_id, name FROM {current_identity('now()', person_ids=IDS)} i",
        {"ids": ids},
        {"person_id": pl.Int64(), "name": pl.String()},
    )
    rank = pl.col("order_type").replace_strict(_ORDER, default=9, return_dtype=pl.Int8)
    mine = orders.filter(pl.col("person_id").is_in(ids)).sort("person_id", "start_at", rank)
    titles = _policy_titles(sorted(mine.get_column("policy_id").unique().to_list()))
    row = pl.format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        _escaped(pl.col("order_type").replace(_LABELS)),
        _escaped(pl.col("detail").replace(_KINDS).fill_null("")),
        _when(pl.col("start_at")),
        _when(pl.col("end_at")),
        _escaped(pl.col("place").fill_null("待定 to be assigned")),
        _escaped(pl.col("rule")),
        _escaped(pl.col("reason")),
    )
    basis = pl.format(
        "<li>{}：规则 rules {}</li>",
        _escaped(pl.col("policy_id").replace_strict(titles, return_dtype=pl.String)),
        _escaped(pl.col("rule").unique().sort().str.join(", ")),
    )
    test_day = pl.when(pl.col("order_type") == OrderType.TEST.value).then(
        pl.col("start_at").dt.strftime("%Y-%m-%d")
    )
    per_policy = mine.group_by("person_id", "policy_id").agg(basis.first().alias("basis"))
    pages = (
        mine.group_by("person_id", maintain_order=True)
        .agg(
            row.str.join("\n").alias("rows"),
            test_day.drop_nulls().unique().sort().str.join(", ").alias("tests"),
        )
        .join(
            per_policy.group_by("person_id").agg(pl.col("basis").sort().str.join("")),
            on="person_id",
        )
        .join(names, on="person_id", how="left")
        .select(
            "person_id",
            pl.format(
                _PAGE,
                pl.lit("通知书 Notice"),
                pl.lit(_STYLE),
                _escaped(pl.col("name").fill_null("（未登记姓名 name not recorded）")),
                pl.col("person_id"),
                "rows",
                pl.when(pl.col("tests") == "").then(pl.lit("—")).otherwise("tests"),
                pl.lit(LAW),
                "basis",
            ).alias("html"),
        )
    )
    private_directory(out_dir)
    for person_id, html in pages.iter_rows():  # one file per person: the I/O itself
        write_private(out_dir / f"{person_id}.html", html)  # personal data: owner only
    log.info("%d order documents written to %s", pages.height, out_dir)
    return pages.height
