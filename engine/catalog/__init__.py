"""The catalog: artifact and capability models, manifests, ingest and export, importers."""
