# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base every API module of this collection runs on (private).

A platform gives it its auth argument spec and a client factory; a module gives it its own
spec and its ``ensure_*`` logic. The base merges the specs, builds the client, guards the
writes in check mode (:meth:`ApiModule.write`), builds the diff with secret values masked,
turns every :class:`ApiError` into one failure naming the subject, the operation and the API
request id, and has the one exit that returns ``changed`` and the state.
"""

from __future__ import annotations

import typing as t

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ._http import (
    FOUND,
    HAS_REQUESTS,
    REDACTED,
    REQUESTS_IMPORT_ERROR,
    ApiError,
    RetryPolicy,
    StartedJob,
    WaitTimeout,
    create_or_attach,
)
from ._worker import new_module

T = t.TypeVar("T")

# Twin of the appops.runbooks.api_retry doc fragment: keep them in step. The retries are a floor,
# the seconds the budget: 30 s outlast a burst of 429s or a run of 5xx answers of the API.
DEFAULT_RETRIES = 6
DEFAULT_RETRY_MAX_WAIT = 30.0
# The environment fallbacks let a CI job or an AWX template tune every task of a run at once.
RETRY_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "retries": {"type": "int", "default": DEFAULT_RETRIES, "fallback": (env_fallback, ["APPOPS_API_RETRIES"])},
    "retry_max_wait": {"type": "float", "default": DEFAULT_RETRY_MAX_WAIT,
                       "fallback": (env_fallback, ["APPOPS_API_RETRY_MAX_WAIT"])},
}


def merged_spec(*specs: t.Mapping[str, dict[str, t.Any]]) -> dict[str, dict[str, t.Any]]:
    """One argument spec from several; a later spec wins, so a module can tune a shared option."""
    merged: dict[str, dict[str, t.Any]] = {}
    for spec in specs:
        for name, option in spec.items():
            merged[name] = dict(merged.get(name, {}), **option)
    return merged


def retry_policy(params: t.Mapping[str, t.Any]) -> RetryPolicy:
    return RetryPolicy.from_options(params["retries"], params["retry_max_wait"])


def masked_values(values: t.Mapping[str, t.Any] | None, compared_with: t.Mapping[str, t.Any] | None = None,
                  ) -> dict[str, str] | None:
    """Keys with their values hidden; a value that differs from ``compared_with`` is marked changed."""
    if values is None:
        return None
    if compared_with is None:
        return {key: REDACTED for key in sorted(values)}
    return {key: f"{REDACTED} (changed)" if compared_with.get(key, object()) != value else REDACTED
            for key, value in sorted(values.items())}


class GuardedWrites:
    """The step under way and the check-mode guard of every write.

    :class:`ApiModule` has it, and so has a runner without an AnsibleModule (a fleet's logic run
    by an action plugin on the controller, ``_fleet.FleetRunner``).
    """

    operation: str = "reading"
    check_mode: bool

    def doing(self, operation: str) -> None:
        """Name the step under way: a failure says which one failed."""
        self.operation = operation

    def write(self, operation: str, action: t.Callable[[], T], predicted: T) -> T:
        """Do one write, or in check mode return ``predicted`` (what the write would give) without sending it."""
        if self.check_mode:
            return predicted
        self.doing(operation)
        return action()


class ApiModule(GuardedWrites):
    """AnsibleModule plus a platform client; subclasses name the platform and build the client.

    Use::

        def run(api):                       # the module: its ensure_* logic
            api.doing("reading the thing")
            before = api.client.thing(api.subject_name)
            after = api.write("changing the thing", lambda: api.client.change(...), predicted={...})
            api.exit(before != after, before=before, after=after, thing=after)

        SomePlatformModule(spec).run(run)
    """

    #: The platform's auth options (merged before the module's own spec).
    auth_argument_spec: t.ClassVar[dict[str, dict[str, t.Any]]] = {}
    #: What a failure message calls the subject, e.g. "Heroku app".
    subject_label: t.ClassVar[str] = "API"
    #: The option naming the subject (app, project, cluster); None when there is none.
    subject_option: t.ClassVar[str | None] = "app"

    def __init__(
        self,
        argument_spec: t.Mapping[str, dict[str, t.Any]],
        *,
        client_factory: t.Callable[[t.Mapping[str, t.Any]], t.Any] | None = None,
        **kwargs: t.Any,
    ) -> None:
        kwargs.setdefault("supports_check_mode", True)
        spec = merged_spec(self.auth_argument_spec, RETRY_ARGUMENT_SPEC, argument_spec)
        # AnsibleModule, or in the controller's worker what stands for it (_worker.py).
        self.module = new_module(spec, **kwargs)
        self.operation = "reading"
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib("requests"), exception=str(REQUESTS_IMPORT_ERROR))
        try:
            self.client = (client_factory or self.make_client)(self.module.params)
        except ApiError as error:
            self.doing("setting up the API client")
            self.fail_api(error)

    # -- what a platform provides ------------------------------------------------------

    def make_client(self, params: t.Mapping[str, t.Any]) -> t.Any:
        raise NotImplementedError

    def close_client(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            close()

    # -- what a module reads -----------------------------------------------------------

    @property
    def params(self) -> dict[str, t.Any]:
        return self.module.params

    @property
    def check_mode(self) -> bool:
        return self.module.check_mode

    @property
    def subject(self) -> str:
        """``Heroku app 'micmap-api'``: how messages name what the module works on."""
        if self.subject_option and self.params.get(self.subject_option) is not None:
            return f"{self.subject_label} {self.params[self.subject_option]!r}"
        return self.subject_label

    @property
    def retry(self) -> RetryPolicy:
        return retry_policy(self.params)

    # -- writes: GuardedWrites.write, the one place check mode is decided ----------------

    def start(
        self,
        operation: str,
        *,
        find_running: t.Callable[[], T | None],
        create: t.Callable[[], T],
        find_started: t.Callable[[], T | None] | None = None,
    ) -> StartedJob[T] | None:
        """Start a job once (:func:`create_or_attach` with this module's retry options).

        In check mode nothing is sent: a job already running is returned (it would be attached
        to), else None (one would be started).
        """
        if self.check_mode:
            running = find_running()
            return None if running is None else StartedJob(running, FOUND)
        self.doing(operation)
        return create_or_attach(find_running, create, retry=self.retry, find_started=find_started)

    # -- the ends ----------------------------------------------------------------------

    def fail(self, msg: str, **result: t.Any) -> t.NoReturn:
        self.module.fail_json(msg=msg, **result)

    def fail_api(self, error: ApiError, **result: t.Any) -> t.NoReturn:
        """One failure for every API error: the subject, the operation, the error and its request id."""
        text = f"{self.subject}: {self.operation} failed: {error}"
        if isinstance(error, WaitTimeout):
            result.setdefault("last_state", error.last_state)
        self.module.fail_json(msg=text, api_error=error.to_dict(), **result)

    def exit(
        self,
        changed: bool,
        before: t.Any = None,
        after: t.Any = None,
        *,
        mask_values: bool = False,
        **state: t.Any,
    ) -> t.NoReturn:
        """Return ``changed`` and the state; with diff mode, before/after (values masked with ``mask_values``)."""
        if self.module._diff and (before is not None or after is not None):
            if mask_values:
                before, after = masked_values(before), masked_values(after, before)
            state["diff"] = {"before": before, "after": after}
        self.module.exit_json(changed=changed, **state)

    def run(self, body: t.Callable[[t.Any], None]) -> None:
        """Run the module body; any API error becomes one clear failure message."""
        try:
            body(self)
        except ApiError as error:
            self.fail_api(error)
        finally:
            self.close_client()
