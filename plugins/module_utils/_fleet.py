# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the *_fleet modules share (private): a pooled session, the workers, and one outcome per member.

A fleet module handles many members (apps, clusters) in one process, a few at a time on threads over
one keep-alive session; every member keeps its own outcome, and a failed member does not stop the
others.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ._http import HAS_REQUESTS, ApiError
from ._module import GuardedWrites

if HAS_REQUESTS:
    import requests
    from requests.adapters import HTTPAdapter

CONCURRENCY_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "concurrency": {"type": "int", "default": 16},
}

Outcome = t.Dict[str, t.Any]


class FleetRun(GuardedWrites):
    """What a fleet's logic needs of its runner (params, client, check mode and the guarded write),
    as :class:`ApiModule` offers them, without an AnsibleModule: an action plugin runs a fleet in the
    controller's own process with it."""

    def __init__(self, params: t.Mapping[str, t.Any], client: t.Any, check_mode: bool) -> None:
        self.params = params
        self.client = client
        self.check_mode = check_mode


@dataclass
class FleetOutcome:
    """A fleet run's result fields, plus the failure message and the diff of the members that changed."""

    result: dict[str, t.Any]
    changed: bool
    failure: str | None = None
    before: dict[str, t.Any] = field(default_factory=dict)
    after: dict[str, t.Any] = field(default_factory=dict)


def members(names: t.Iterable[str]) -> list[str]:
    """The names in their order, each once."""
    return list(dict.fromkeys(names))


def workers_for(concurrency: int, count: int) -> int:
    return max(1, min(concurrency, count or 1))


def pooled_session(workers: int) -> t.Any:
    """A session whose pool keeps a connection per worker thread.

    The default pool keeps 10 connections; more threads than that would open and drop
    connections on every request, which costs a TCP handshake each time.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=1, pool_maxsize=workers)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def converge_all(names: list[str], converge: t.Callable[[str], Outcome], workers: int,
                 describe_error: t.Callable[[str, ApiError], str]) -> dict[str, Outcome]:
    """``converge`` every member concurrently; an API error becomes that member's ``error`` outcome."""
    def guarded(name: str) -> Outcome:
        try:
            return converge(name)
        except ApiError as error:
            return {"changed": False, "error": describe_error(name, error), "api_error": error.to_dict()}

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(names, pool.map(guarded, names)))


def changed_members(outcomes: t.Mapping[str, Outcome]) -> list[str]:
    return [name for name, outcome in outcomes.items() if outcome.get("changed")]


def failed_members(outcomes: t.Mapping[str, Outcome]) -> list[str]:
    return [name for name, outcome in outcomes.items() if "error" in outcome]


def failure_message(what: str, outcomes: t.Mapping[str, Outcome]) -> str:
    """``3 of 200 <what> failed (a, b, c); first error: ...``."""
    failed = failed_members(outcomes)
    shown = ", ".join(failed[:10]) + (", ..." if len(failed) > 10 else "")
    return f"{len(failed)} of {len(outcomes)} {what} failed ({shown}); first error: {outcomes[failed[0]]['error']}"
