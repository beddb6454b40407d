"""Import of event files (CSV, Parquet) into the store, all-or-nothing, with validation that
names the file, row and field of the first bad value."""

from fangkong.ingest.importer import ImportResult, import_file
from fangkong.ingest.kinds import KINDS, Kind, kind

__all__ = ["KINDS", "ImportResult", "Kind", "import_file", "kind"]
