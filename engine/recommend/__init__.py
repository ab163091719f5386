"""Recommendations: content similarity, A vs B comparisons, alternatives, resolve."""
