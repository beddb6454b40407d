"""The store: append-only event tables on an embedded DuckDB file (the default) or PostgreSQL.

`open_store(url)` returns a `Store`; `url` is a file path (DuckDB, created if missing),
`:memory:`, or a `postgresql://` URL. Both backends share one schema (`fangkong.model.tables`)
and one list of migrations.
"""

from fangkong.store.base import Store, open_store

__all__ = ["Store", "open_store"]
