"""The data that ships with matchgraph: the bundled catalog and small tables (aliases, the needs taxonomy)."""
