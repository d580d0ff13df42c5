"""Session set-up: generated datasets are cached in a folder of this test session,
not in the user's ~/.cache, so a run starts from nothing and leaves nothing."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session", autouse=True)
def _session_cache(tmp_path_factory):
    old = os.environ.get("SNNEMU_CACHE")
    os.environ["SNNEMU_CACHE"] = str(tmp_path_factory.mktemp("snnemu-cache"))
    yield
    if old is None:
        os.environ.pop("SNNEMU_CACHE", None)
    else:
        os.environ["SNNEMU_CACHE"] = old
