"""Slow tests (full-scale builds) run only when selected with ``-m slow``."""

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: full-scale builds; run with -m slow")


def pytest_collection_modifyitems(config, items):
    if "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="full-scale build: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
