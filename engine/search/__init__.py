"""Search: query cleaning, filters, the searcher, the ranking cache and the match recorder."""
