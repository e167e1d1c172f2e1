# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the atlas_* module tests (helpers in atlas_modules_helpers.py)."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
import requests

from ansible_collections.appops.runbooks.tests.integration.atlas_modules.atlas_modules_helpers import (
    API, DIGEST_DEFAULTS, LAB_DIR, PORTS, QUICK, Lab, admin, atlas_lab_helpers, start_instance)
from ansible_collections.appops.runbooks.tests.integration.playbooks import Playbooks


@pytest.fixture(scope="session")
def atlas_instance() -> t.Iterator[str]:
    start_instance()
    yield API
    atlas_lab_helpers.lab_script("lab-down.sh", PORTS, LAB_DIR)


@pytest.fixture
def lab(atlas_instance: str) -> t.Iterator[Lab]:
    admin("POST", "reset")
    admin("POST", "knobs", QUICK)
    yield Lab()
    requests.delete(f"{API}/__lab/faults", timeout=5)
    requests.post(f"{API}/__lab/rate-limit", json={"capacity": 100, "refill_per_minute": 100}, timeout=5)


@pytest.fixture
def playbooks(tmp_path: Path, atlas_instance: str) -> Playbooks:
    return Playbooks(tmp_path, DIGEST_DEFAULTS)
