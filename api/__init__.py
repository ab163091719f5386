"""matchgraph's HTTP API (FastAPI): thin routes over the engine façade."""
