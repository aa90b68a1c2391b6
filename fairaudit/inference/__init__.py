"""fairaudit.inference."""
