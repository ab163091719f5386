"""The `matchgraph` command: thin commands over the engine façade."""
