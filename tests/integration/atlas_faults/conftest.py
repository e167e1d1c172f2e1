# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the atlas store's fault tests: an Atlas emulator instance of their own (API 18360,
clusters 18361 micmap and 18362 fixzit, state under .lab/tests-atlas-faults), which they fault and
hold at will, and micmap-api's Heroku app (the lab's emulator on 18100, shared: run under the lab
lock) aimed at its micmap cluster."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.appops.runbooks.tests.integration.atlas_snapshot.conftest import (
    QUICK,
    REPO,
    AtlasInstance,
    micmap_aimed_at,
)

INSTANCE = AtlasInstance(18360, REPO / ".lab" / "tests-atlas-faults", "ATLAS_FAULTS")


@pytest.fixture(scope="session")
def atlas_instance() -> t.Iterator[AtlasInstance]:
    with INSTANCE.running(QUICK):
        yield INSTANCE


@pytest.fixture(scope="module")
def micmap_app(atlas_instance: AtlasInstance) -> t.Iterator[str]:
    with micmap_aimed_at(atlas_instance.micmap_uri) as uri:
        yield uri
