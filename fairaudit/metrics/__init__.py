"""fairaudit.metrics."""
