"""fairaudit.audit."""
