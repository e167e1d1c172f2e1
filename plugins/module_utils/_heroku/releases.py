# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Heroku releases: which is current, which to roll back to, waiting for one (private)."""

from __future__ import annotations

import re
import typing as t

from .._http import wait_for
from .client import HerokuClient

# Heroku describes a rollback release as "Rollback to v42" (the CLI and the dashboard do alike).
ROLLBACK_DESCRIPTION = re.compile(r"^\s*Rollback to v(\d+)\b", re.IGNORECASE)
VERSION_TEXT = re.compile(r"^v?(\d+)$", re.IGNORECASE)
PREVIOUS = "previous"


def parse_version(text: str | int) -> int | str:
    """``42``, ``"42"`` or ``"v42"`` -> 42; ``"previous"`` stays; anything else raises ValueError."""
    value = str(text).strip()
    if value.lower() == PREVIOUS:
        return PREVIOUS
    match = VERSION_TEXT.match(value)
    if not match:
        raise ValueError(f"version must be a number, v<number> or {PREVIOUS}, got {value!r}")
    return int(match.group(1))


def current_release(releases: list[dict[str, t.Any]]) -> dict[str, t.Any] | None:
    """The release marked current, else the newest that succeeded (``releases`` newest first)."""
    for release in releases:
        if release.get("current"):
            return release
    for release in releases:
        if release.get("status") == "succeeded":
            return release
    return None


def rollback_target_version(release: dict[str, t.Any] | None) -> int | None:
    """N when ``release`` is a rollback to vN, else None."""
    match = ROLLBACK_DESCRIPTION.match((release or {}).get("description") or "")
    return int(match.group(1)) if match else None


def previous_release(releases: list[dict[str, t.Any]], current: dict[str, t.Any]) -> dict[str, t.Any] | None:
    """The newest release older than ``current`` that succeeded and may be rolled back to."""
    for release in releases:
        if release.get("version", 0) >= current.get("version", 0):
            continue
        if release.get("status") == "succeeded" and release.get("eligible_for_rollback") is not False:
            return release
    return None


def release_settled(release: dict[str, t.Any]) -> bool:
    return release.get("status") != "pending"


def wait_for_release(
    client: HerokuClient, app: str, release_id: str, *, timeout: float, interval: float,
) -> dict[str, t.Any]:
    """Poll a release until it leaves ``pending`` (its release phase ran)."""
    return wait_for(
        lambda: client.release(app, release_id), release_settled,
        timeout=timeout, interval=interval, what=f"release {release_id} to leave pending",
    )
