"""Photos and the app under test, shared by the app tests."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from PIL import Image

from fairaudit.app._launch import APP_SCRIPT

#: The fastest shipped FairFace model: the tests run the app with it (``--model``).
TEST_MODEL = "fairface-lightweight-112"


def png_bytes(image: Image.Image) -> bytes:
    """The image encoded as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="session")
def grace_hopper() -> bytes:
    """matplotlib's bundled ``grace_hopper.jpg`` (public domain): one frontal face."""
    from matplotlib import cbook

    with cbook.get_sample_data("grace_hopper.jpg") as handle:
        return handle.read()


@pytest.fixture(scope="session")
def astronaut_png() -> bytes:
    """scikit-image's ``astronaut()`` (Eileen Collins, public domain) as PNG bytes."""
    data = pytest.importorskip("skimage.data", reason="needs scikit-image (pip install '.[test]')")
    return png_bytes(Image.fromarray(data.astronaut()))


@pytest.fixture(scope="session")
def blank_png() -> bytes:
    """A plain grey 320x240 image: no face in it."""
    return png_bytes(Image.fromarray(np.full((240, 320, 3), 128, dtype=np.uint8)))


@pytest.fixture
def app(monkeypatch):
    """The app as ``fairaudit app --model fairface-lightweight-112`` starts it, in AppTest.

    ``streamlit run main.py -- --model NAME`` runs the script with
    ``sys.argv == [main.py, "--model", NAME]``, which is set here the same way.
    """
    testing = pytest.importorskip(
        "streamlit.testing.v1", reason="needs streamlit (pip install '.[test]')"
    )
    monkeypatch.setattr(sys, "argv", [str(APP_SCRIPT), "--model", TEST_MODEL])
    return testing.AppTest.from_file(str(APP_SCRIPT), default_timeout=180)
