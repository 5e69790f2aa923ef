"""Latency tables (format v1, DESIGN.md §5): one folder per space of CSV files.

Example::

    from fewlat.meta.tables import read_table, write_table
    table = read_table("../shared/data/help", "nb201")
    table.lookup_ms(table.archs[0], "pixel3")           # milliseconds
    table = table.with_measurements("my-board", {table.archs[0]: 12.5})
    write_table(table, "out/")                           # out/nb201/{archs,latency_ms}.csv
    pool = read_pool(["../shared/data/help", "data/measured"], "ofa")  # one table, all devices
"""

from fewlat.meta.tables._io import (
    ARCHS_CSV,
    DEVICES_JSON,
    LATENCY_CSV,
    list_table_spaces,
    read_table,
    write_table,
)
from fewlat.meta.tables._pool import read_pool, space_folder
from fewlat.meta.tables._table import LatencyTable

__all__ = [
    "ARCHS_CSV",
    "DEVICES_JSON",
    "LATENCY_CSV",
    "LatencyTable",
    "list_table_spaces",
    "read_pool",
    "read_table",
    "space_folder",
    "write_table",
]
