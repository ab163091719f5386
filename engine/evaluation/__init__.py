"""Evaluation of retrieval on public benchmark sets, through the real search path."""
