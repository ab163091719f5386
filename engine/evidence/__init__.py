"""Evidence: the match graph, the score formulas and the graph + rank job."""
