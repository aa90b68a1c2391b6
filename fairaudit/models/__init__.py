"""fairaudit.models."""
