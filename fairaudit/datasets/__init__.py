"""fairaudit.datasets."""
