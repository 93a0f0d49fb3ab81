"""Shared fixtures: an app on the virtual board, its test client, free ports."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from app import create_app


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry(auto_describe=True)


@pytest.fixture
def app(registry):
    """An app on the virtual board; background work is not started."""
    return create_app({"board": "virtual", "registry": registry})


@pytest.fixture
def client(app):
    return app.test_client()
