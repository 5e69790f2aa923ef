"""Tests of fewlat.service."""
