"""Facets on claims_by_topic that read precomputed counts (table topic_facet_counts) when they can.

The claims-by-topic page facets six columns. Counting them with GROUP BY costs ~8-10 ms each over
a topic's ~100k rows; the counts kept by triggers (migration 032) answer in well under a
millisecond. Used for `claims_by_topic` unfiltered or filtered only by `topic=` and/or `stance=`;
any other filter, search or page cursor falls back to exactly Datasette's own column facet SQL, so
results never differ from stock Datasette. Results are reported as type "column", as Datasette's would be.
"""
from __future__ import annotations

import logging
import re
import sqlite3
from typing import Any

from datasette.database import QueryInterrupted
from datasette.facets import ColumnFacet
from datasette.utils import escape_sqlite, path_with_added_args, path_with_removed_args

log = logging.getLogger(__name__)

COUNTED_TABLE = "claims_by_topic"
COUNTED_COLUMNS = frozenset({"topic", "stance", "source_id", "kind", "status", "month"})
ALL_STANCES = "*"  # topic_facet_counts.stance of the rows that count every stance
# The SQL Datasette hands facets: every column, then the filters, `"column" = :pN` joined by and.
_SQL = re.compile(r'^select [\w", ]+ from claims_by_topic\s*(?:where (?P<where>.*?))?\s*$', re.S)
_EQUALS = re.compile(r'^"(?P<column>topic|stance)" = :(?P<param>p\d+)$')


def _filters(sql: str, params: Any) -> dict[str, str] | None:
    """{column: value} when the page is filtered by topic and/or stance equality alone, else None."""
    m = _SQL.match(sql)
    if not m or (params and not isinstance(params, dict)):
        return None
    filters: dict[str, str] = {}
    for term in (m.group("where") or "").split(" and ") if m.group("where") else []:
        eq = _EQUALS.match(term.strip())
        if not eq or eq.group("column") in filters or eq.group("param") not in params:
            return None
        filters[eq.group("column")] = params[eq.group("param")]
    if len(filters) != len(params or {}) or filters.get("stance") == ALL_STANCES:
        return None
    return filters


def counts_sql(sql: str, params: Any, column: str, limit: int) -> tuple[str, dict[str, Any]] | None:
    """SQL reading `column`'s facet counts from topic_facet_counts, or None if they don't apply."""
    if column not in COUNTED_COLUMNS:
        return None
    filters = _filters(sql, params)
    if filters is None:
        return None
    args = {"facet": column, "limit": limit, "stance": filters.get("stance", ALL_STANCES)}
    if "topic" in filters:
        args["topic"] = filters["topic"]
        return ("select value, claims as count from topic_facet_counts where topic = :topic"
                " and stance = :stance and facet = :facet and claims > 0"
                " order by count desc, value limit :limit", args)
    return ("select value, sum(claims) as count from topic_facet_counts where stance = :stance"
            " and facet = :facet and claims > 0 group by value order by count desc, value limit :limit", args)


class CountedFacet(ColumnFacet):
    """A column facet (configured as `{"counted": column}`) served from precomputed counts if possible."""

    type = "counted"

    async def _facet_rows(self, column: str, limit: int) -> list[Any]:
        fast = counts_sql(self.sql, self.params, column, limit) if self.table == COUNTED_TABLE else None
        if fast:
            try:
                return list((await self.ds.execute(self.database, fast[0], fast[1])).rows)
            except sqlite3.OperationalError as exc:  # counts table missing or of another shape
                log.warning("precomputed facet counts unusable, counting with GROUP BY: %s", exc)
        facet_sql = f"""
            select {escape_sqlite(column)} as value, count(*) as count from (
                {self.sql}
            )
            where {escape_sqlite(column)} is not null
            group by {escape_sqlite(column)} order by count desc, value limit {limit}
        """
        return list((await self.ds.execute(
            self.database, facet_sql, self.params, truncate=False,
            custom_time_limit=self.ds.setting("facet_time_limit_ms"))).rows)

    async def facet_results(self) -> tuple[list[dict[str, Any]], list[str]]:
        results: list[dict[str, Any]] = []
        timed_out: list[str] = []
        qs_pairs = self.get_querystring_pairs()
        facet_size = self.get_facet_size()
        for source_and_config in self.get_configs():
            config = source_and_config["config"]
            column = config.get("column") or config["simple"]
            try:
                rows = await self._facet_rows(column, facet_size + 1)
            except QueryInterrupted:
                timed_out.append(column)
                continue
            shown = rows[:facet_size]
            expanded = {}
            if self.table:
                expanded = await self.ds.expand_foreign_keys(
                    self.database, self.table, column, [row["value"] for row in shown])
            values = []
            for row in shown:
                column_qs = f"{column}__exact" if column.startswith("_") else column
                selected = (column_qs, str(row["value"])) in qs_pairs
                if selected:
                    toggle_path = path_with_removed_args(self.request, {column_qs: str(row["value"])})
                else:
                    toggle_path = path_with_added_args(self.request, {column_qs: row["value"]})
                values.append({
                    "value": row["value"],
                    "label": expanded.get((column, row["value"]), row["value"]),
                    "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(toggle_path)),
                    "selected": selected,
                })
            results.append({
                "name": column,
                "type": "column",
                "hideable": source_and_config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(
                    path_with_removed_args(self.request, {f"_facet_{self.type}": column})),
                "results": values,
                "truncated": len(rows) > facet_size,
            })
        return results, timed_out
