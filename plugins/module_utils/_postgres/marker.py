# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The restore marker: which backup a database holds since its last restore, and its fingerprint.

The only place that reads or writes it. A marker is a dict::

    {"backup_id", "sha256" (of the archive), "restored_at", "xid" (the transaction id after the
     restore), "tables": {name: {"oid", "rows", "newer"}}, "schema" (md5 of the other definitions)}

``MarkerFile`` keeps it in a JSON file on the host the module runs on (the local state backend);
``MarkerDocument`` keeps it as a document of the app's state backend (the postgres backend, which
every controller reaches, so a run in another AWX container sees which backup a database holds).
"""

from __future__ import annotations

import json
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils import _backup


class MarkerStore(t.Protocol):
    def read(self) -> dict[str, t.Any]:
        """The marker of the last restore, {} when there is none (a restore is then needed)."""

    def write(self, marker: t.Mapping[str, t.Any]) -> None:
        """Replace the marker, atomically: a reader sees the old one or the new one."""


class MarkerFile:
    """A marker kept as a JSON file on the machine the module runs on."""

    def __init__(self, path: str) -> None:
        self.path = path

    def read(self) -> dict[str, t.Any]:
        try:
            with open(self.path, encoding="utf-8") as handle:
                data = json.load(handle)
        except FileNotFoundError:
            return {}
        except ValueError:
            # A damaged marker proves nothing: restore again.
            return {}
        return data if isinstance(data, dict) else {}

    def write(self, marker: t.Mapping[str, t.Any]) -> None:
        _backup.write_json_atomically(self.path, dict(marker))


class MarkerDocument:
    """A marker kept as document ``key`` of ``app`` in a state backend (_state.StateBackend)."""

    def __init__(self, backend: t.Any, app: str, key: str) -> None:
        self.backend, self.app, self.key = backend, app, key

    def read(self) -> dict[str, t.Any]:
        data = self.backend.get_document(self.app, self.key)
        # Anything but a dict proves nothing about the database: restore again.
        return data if isinstance(data, dict) else {}

    def write(self, marker: t.Mapping[str, t.Any]) -> None:
        self.backend.put_document(self.app, self.key, dict(marker))


def new_marker(backup_id: str, sha256: str, fingerprint: t.Mapping[str, t.Any], schema: str) -> dict[str, t.Any]:
    """The marker of a restore that just finished, from the fingerprint taken after it."""
    return {
        "backup_id": backup_id,
        "sha256": sha256,
        "restored_at": _backup.format_time(_backup.utc_now()),
        "xid": fingerprint["xid"],
        "tables": fingerprint["tables"],
        "schema": schema,
    }
