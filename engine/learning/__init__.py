"""Evidence that learns: training pairs from selections and feedback (or a BEIR set), a learned
ranker and a fine-tuned embedding model as candidates, a gate, swaps and rollbacks (``run``)."""
