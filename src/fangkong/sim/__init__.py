"""The digital twin's first half: a synthetic city (`city.build_city`) and the transmission of
SARS-CoV-2 through it (`transmission.Epidemic`), with the variant parameter sets of
`data/variants.yaml`. Module map:

    agent        agent ids, key groups, venue kinds, layers
    parameter    the data files' {value, unit, source, verified} format
    census       the 2020 census figures (age pyramid, households, districts, vaccination)
    population   people and households;  places: districts, streets, buildings, venues
    groups       households, classes, workplaces, institutions as contact groups
    city         the city and how its people move (`Behaviour`)
    variant      variant parameter sets;  disease: the course of an infection, Ct values
    rng          counter-based random streams, one per component
    checkin      a day's venue visits (场所码 check-ins), bucketed by venue and hour
    contact      the transmission kernels (group layers, overlapping venue visits)
    transmission the day step and its interface for the twin loop
    frames       the city and its check-ins as frames in the import kinds' columns
    curve        the daily epidemic curve of a run with no control
"""

import os

import numba

# OpenMP's threads spin at every barrier: on shared cores the parallel loops ran 3-4 times
# slower than on one thread. The workqueue layer waits without spinning. An explicit
# NUMBA_THREADING_LAYER still wins.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]  # set at run time
