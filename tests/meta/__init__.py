"""Tests of fewlat.meta."""
