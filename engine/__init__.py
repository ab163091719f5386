"""matchgraph's domain: catalog, search orchestration, match recording (no web framework here)."""

__version__ = "0.1.0"
