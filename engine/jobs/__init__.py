"""Jobs: the one index job, backup and restore, watching manifest folders."""
