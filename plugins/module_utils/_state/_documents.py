# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and writing one state document (the app_state module's logic).

Shared by the app_state module and its controller-side action plugin.
"""

from __future__ import annotations

import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._state import STATE_ARGUMENT_SPEC, StateBackend

DOCUMENT_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = dict(
    STATE_ARGUMENT_SPEC,
    app=dict(type="str", required=True),
    key=dict(type="str", required=True, no_log=False),
    state=dict(type="str", choices=["query", "present", "absent"], default="query"),
    value=dict(type="raw"),
)
DOCUMENT_REQUIRED_IF: list[tuple[str, str, tuple[str, ...]]] = [
    ("state", "present", ("value",)), ("backend", "local", ("state_dir",))]


def document_subject(params: t.Mapping[str, t.Any]) -> str:
    return f"state {params['key']} of {params['app']}"


def ensure(params: t.Mapping[str, t.Any], check_mode: bool, backend: StateBackend) -> dict[str, t.Any]:
    app, key, wanted_state = params["app"], params["key"], params["state"]
    before = backend.get_document(app, key)
    result: dict[str, t.Any] = {"changed": False, "value": before, "existed": before is not None}
    if wanted_state == "query":
        return result
    after = params["value"] if wanted_state == "present" else None
    if after == before:
        return result
    if not check_mode:
        if wanted_state == "present":
            backend.put_document(app, key, after)
        else:
            backend.delete_document(app, key)
    result.update(changed=True, value=after, diff={"before": {key: before}, "after": {key: after}})
    return result
