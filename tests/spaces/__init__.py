"""Tests of fewlat.spaces."""
