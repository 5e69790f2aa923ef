"""fewlat test suite (a package, so test folders never shadow the top-level source folders)."""
