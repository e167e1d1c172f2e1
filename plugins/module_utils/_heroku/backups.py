# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Heroku Postgres backups, restores and schedules: naming, status and waiting (private)."""

from __future__ import annotations

import re
import typing as t

from .._http import wait_for
from .client import HerokuClient

BACKUP_NAME = re.compile(r"^[abcr](\d+)$")


def transfer_kind(transfer: dict[str, t.Any]) -> str:
    """backup, copy, restore or other, the way the Heroku CLI classifies transfers."""
    source, target = transfer.get("from_type"), transfer.get("to_type")
    if source == "pg_dump" and target == "gof3r":
        return "backup"
    if source == "pg_dump" and target == "pg_restore":
        return "copy"
    if target == "pg_restore":
        return "restore"
    return "other"


def transfer_name(transfer: dict[str, t.Any]) -> str:
    """``b003`` (manual backup), ``a004`` (scheduled), ``c``/``r`` for copies and restores."""
    kind = transfer_kind(transfer)
    if kind == "backup":
        prefix = "a" if transfer.get("schedule") else "b"
    elif kind == "copy":
        prefix = "c"
    else:
        prefix = "r"
    return f"{prefix}{int(transfer.get('num') or 0):03d}"


def transfer_status(transfer: dict[str, t.Any]) -> str:
    if transfer.get("finished_at"):
        return "succeeded" if transfer.get("succeeded") else "failed"
    if transfer.get("started_at"):
        return "running"
    return "pending"


def transfer_in_flight(transfer: dict[str, t.Any]) -> bool:
    return not transfer.get("finished_at") and not transfer.get("canceled_at")


def describe_transfer(transfer: dict[str, t.Any]) -> dict[str, t.Any]:
    """A transfer as modules return it: the API fields plus name, kind and status; no signed URLs."""
    described = {k: v for k, v in transfer.items() if k not in ("to_url", "from_url")}
    described.update(name=transfer_name(transfer), kind=transfer_kind(transfer), status=transfer_status(transfer))
    return described


def backup_number(name: str) -> int | None:
    match = BACKUP_NAME.match(name.strip().lower())
    return int(match.group(1)) if match else None


def wait_for_transfer(
    client: HerokuClient, app: str, uuid: str, *, timeout: float, interval: float, **kwargs: t.Any,
) -> dict[str, t.Any]:
    return wait_for(
        lambda: client.transfer(app, uuid), lambda tr: not transfer_in_flight(tr),
        timeout=timeout, interval=interval, what=f"transfer {uuid}", **kwargs,
    )
