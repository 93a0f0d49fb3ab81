"""Shared fixtures: an app on the virtual board, its test client, free ports."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from enviro_sensor.hardware.virtual import ManualClock, VirtualBoard
from tests.app_support import virtual_app
from tests.virtual_support import MORNING


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@pytest.fixture
def app(registry):
    """An app on the virtual board; background work is not started."""
    return virtual_app(registry)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def clock() -> ManualClock:
    """A stopped clock at a morning hour, moved only by the test."""
    return ManualClock(MORNING)


@pytest.fixture
def board(clock) -> VirtualBoard:
    """A virtual board on that clock."""
    return VirtualBoard(seed=7, clock=clock)
