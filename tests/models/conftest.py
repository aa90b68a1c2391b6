"""The model tests need torch: in the core install (pytest --core-only) the folder skips."""

import pytest

from tests.conftest import NEEDS_TORCH

pytest.importorskip("torch", reason=NEEDS_TORCH)
