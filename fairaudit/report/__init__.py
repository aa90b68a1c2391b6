"""fairaudit.report."""
