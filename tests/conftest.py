"""Fixtures and the hypothesis profile; the helpers themselves are in tests/helpers.py."""

from __future__ import annotations

import pytest
from hypothesis import settings

from snnmap.hardware import Hardware
from tests.helpers import toy_hardware

# Property tests are seeded (derandomized) so every run checks the same cases.
settings.register_profile("snnmap", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("snnmap")


@pytest.fixture
def toy() -> Hardware:
    return toy_hardware()
