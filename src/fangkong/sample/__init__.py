"""Deterministic sample data: fixture generators whose output is fixed by their seed and inputs.

Generators live in their own modules (`fangkong.sample.bulletin_20200407`, ...).
"""
