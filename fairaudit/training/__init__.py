"""fairaudit.training."""
