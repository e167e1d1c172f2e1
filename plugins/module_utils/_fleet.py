# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What every ``*_fleet`` module shares (private): one pooled session, the subjects handled
concurrently, each with its own outcome, and one result for the whole fleet.

A per-host task costs a few tenths of a CPU-second in Ansible; one task that handles every
subject of the play concurrently over one keep-alive session is bound by the API's latency
instead. A subject that fails does not stop the others: its outcome carries ``error`` and the
module fails at the end naming the failed subjects.
"""

from __future__ import annotations

import time
import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ._http import HAS_REQUESTS, ApiError, RetryPolicy
from ._module import GuardedWrites, retry_policy

if HAS_REQUESTS:
    import requests
    from requests.adapters import HTTPAdapter

#: The twin of every fleet module's ``concurrency`` option.
CONCURRENCY_OPTION: dict[str, t.Any] = {"type": "int", "default": 16}

Outcome = t.Dict[str, t.Any]
Client = t.TypeVar("Client")


class FleetRunner(GuardedWrites):
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


def unique(subjects: t.Iterable[str]) -> list[str]:
    """The subjects in the order given, each once."""
    return list(dict.fromkeys(subjects))


def workers_for(concurrency: int, subjects: t.Sized) -> int:
    return max(1, min(concurrency, len(subjects) or 1))


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


def pooled_client_factory(
    make_client: t.Callable[..., Client], subjects_option: str,
) -> t.Callable[[t.Mapping[str, t.Any]], Client]:
    """The module's client factory: ``make_client(params, retry=..., session=...)`` over one pooled session
    with a connection per worker thread (workers: ``concurrency``, at most one per subject)."""

    def factory(params: t.Mapping[str, t.Any]) -> Client:
        session = pooled_session(workers_for(params["concurrency"], set(params[subjects_option])))
        retry: RetryPolicy = retry_policy(params)
        return make_client(params, retry=retry, session=session)

    return factory


def guarded(label: str, action: t.Callable[[str], Outcome]) -> t.Callable[[str], Outcome]:
    """``action`` for one subject, with an API error turned into that subject's outcome."""

    def run(subject: str) -> Outcome:
        try:
            return action(subject)
        except ApiError as error:
            return {"changed": False, "error": f"{label} {subject!r}: {error}", "api_error": error.to_dict()}

    return run


def handle_all(subjects: list[str], action: t.Callable[[str], Outcome], workers: int) -> dict[str, Outcome]:
    """Every subject's outcome, by subject, ``workers`` at a time."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(zip(subjects, pool.map(action, subjects)))


class FleetRun:
    """The wall time and requests of a fleet run, and its one result."""

    def __init__(self, label: str, history: t.Callable[[], list[t.Any]]) -> None:
        self.label = label
        self.history = history
        self.started = time.monotonic()

    def result(self, outcomes: dict[str, Outcome], key: str) -> dict[str, t.Any]:
        """``{key: outcomes, changed_<key>, failed_<key>, requests, elapsed}``."""
        return {
            key: outcomes,
            f"changed_{key}": [name for name, outcome in outcomes.items() if outcome.get("changed")],
            f"failed_{key}": [name for name, outcome in outcomes.items() if "error" in outcome],
            "requests": sum(record.attempts for record in self.history()),
            "elapsed": round(time.monotonic() - self.started, 3),
        }

    def failure(self, result: dict[str, t.Any], key: str) -> str | None:
        """The message of a run where some subjects failed, else None."""
        failed = result[f"failed_{key}"]
        if not failed:
            return None
        first = result[key][failed[0]]["error"]
        more = ", ..." if len(failed) > 10 else ""
        return (f"{len(failed)} of {len(result[key])} {self.label} failed ({', '.join(failed[:10])}{more});"
                f" first error: {first}")
