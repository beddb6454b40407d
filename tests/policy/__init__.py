"""Tests of fangkong.policy and `fangkong policy`."""
