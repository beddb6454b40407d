"""The daily bulletin (每日疫情通报) of the National Health Commission.

A bulletin is one value (`Bulletin`: a scope's `Figures`, with its provinces, cities and the
Hong Kong / Macao / Taiwan block) computed two ways:

- `bulletin_from_registry`: from the case registry, by set-based SQL (`registry`);
- `bulletin_from_reports`: assembled from per-province daily reports, the way the NHC did
  (`reports`, `reports_file`; the CSV format is docs/reports-format.md); `convert_nhc_2020`
  (`nhc2020`) turns the transcribed national bulletins of January 2020 into such a file.

The close-contact figures come from the daily engine's stored facts (`contacts`). Hong Kong's
real line list can be replayed through the registry and compared with CHP's daily situation
(`replay_hk`, `replay_hk_compare`; docs/hongkong-replay.md).

It is written out by `render_zh` (the NHC's wording, `render`), `render_en` (`render_en`),
`bulletin_json`, `bulletin_csv` and `bulletin_frame` (`bulletin`). The regions and their names
are in `regions`.

The names below are the public surface; the modules' other names are theirs.
"""

from fangkong.bulletin.bulletin import (
    FIELD_NAMES,
    FIELDS,
    Bulletin,
    Field,
    Figures,
    RegionFigures,
    bulletin_csv,
    bulletin_frame,
    bulletin_from_frame,
    bulletin_json,
)
from fangkong.bulletin.nhc2020 import convert_nhc_2020
from fangkong.bulletin.regions import NATION_CODE, check_scope, region_name, region_name_en
from fangkong.bulletin.registry import REGISTRY_FIGURES, bulletin_from_registry
from fangkong.bulletin.render import render_zh
from fangkong.bulletin.render_en import render_en
from fangkong.bulletin.reports import Reports, bulletin_from_reports, read_reports

__all__ = [
    "FIELDS",
    "FIELD_NAMES",
    "NATION_CODE",
    "REGISTRY_FIGURES",
    "Bulletin",
    "Field",
    "Figures",
    "RegionFigures",
    "Reports",
    "bulletin_csv",
    "bulletin_frame",
    "bulletin_from_frame",
    "bulletin_from_registry",
    "bulletin_from_reports",
    "bulletin_json",
    "check_scope",
    "convert_nhc_2020",
    "read_reports",
    "region_name",
    "region_name_en",
    "render_en",
    "render_zh",
]
