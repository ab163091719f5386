"""Sentence embeddings: the model backends and the query batcher."""
