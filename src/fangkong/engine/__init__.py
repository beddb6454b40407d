"""The engine: each rule of prevention and control, written once, set-based, over whole tables.

Steps live in their own modules (`fangkong.engine.day`, ...); import them from there.
"""
