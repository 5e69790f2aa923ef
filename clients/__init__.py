"""Client side: runners, measuring into latency tables, and the ``fewlat-client`` CLI."""

from fewlat.clients._measure_table import check_writable, measure_table, plan_archs, read_arch_file

__all__ = ["check_writable", "measure_table", "plan_archs", "read_arch_file"]
