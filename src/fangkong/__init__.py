"""fangkong (防控): an epidemic prevention-and-control system.

The public surface is the CLI (`fangkong ...`) and the packages named in DESIGN: `model`,
`policy`, `store`, `ingest`, `engine`.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
