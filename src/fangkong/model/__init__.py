"""Ids, enums, units and table schemas. Imports nothing else of fangkong."""
