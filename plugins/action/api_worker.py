# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action of the collection's API modules (meta/runtime.yml routes them here).

An API module (Heroku, Vercel, Atlas, Supabase) only makes HTTP requests, and its tasks run on
the controller. On a local connection without become the module's own ``main()`` runs in this
worker process (module_utils/_worker.py): no AnsiballZ payload is built and no Python is started
to import it, 0.2-1 s a task. On any other connection, with become or with async, the module runs
as a module.
"""

from __future__ import annotations

import importlib
import os
import typing as t

from ansible.plugins.action import ActionBase

from ansible_collections.appops.runbooks.plugins.module_utils._http import HAS_REQUESTS
from ansible_collections.appops.runbooks.plugins.module_utils._worker import ModuleExit, WorkerRun, worker_run
from ansible_collections.appops.runbooks.plugins.plugin_utils._controller_action import LOCAL_TRANSPORTS

COLLECTION = "appops.runbooks"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # An async task runs the module (async_wrapper), as the normal action would.
    _supports_async = True

    @property
    def module_name(self) -> str:
        return self._task.resolved_action or self._task.action

    def runs_in_worker(self) -> bool:
        # With become the module runs as the become user (it may write files: a downloaded dump);
        # without requests the module runs and says what is missing.
        return (getattr(self._connection, "transport", None) in LOCAL_TRANSPORTS
                and not self._play_context.become and not self._task.async_val and HAS_REQUESTS
                and self.module_name.startswith(COLLECTION + "."))

    def run(self, tmp: str | None = None, task_vars: dict[str, t.Any] | None = None) -> dict[str, t.Any]:
        result = super().run(tmp, task_vars)
        if not self.runs_in_worker():
            return result | self.run_as_module(task_vars)
        return result | self.run_in_worker()

    def run_as_module(self, task_vars: dict[str, t.Any] | None) -> dict[str, t.Any]:
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        result = self._execute_module(module_name=self.module_name, module_args=self._task.args, task_vars=task_vars,
                                      wrap_async=wrap_async)
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def run_in_worker(self) -> dict[str, t.Any]:
        environment: dict[str, t.Any] = {}
        self._compute_environment_string(environment)
        # What the module's process would inherit (a proxy, a CA bundle, the options' env fallbacks):
        # this worker process runs this one task and ends with it.
        os.environ.update({str(key): str(value) for key, value in environment.items()})
        module = importlib.import_module(
            f"ansible_collections.appops.runbooks.plugins.modules.{self.module_name.rpartition('.')[2]}")
        run = WorkerRun(module_name=self.module_name, args=dict(self._task.args),
                        check_mode=bool(self._task.check_mode), diff=bool(self._task.diff),
                        no_log=bool(self._play_context.no_log))
        with worker_run(run):
            try:
                module.main()
            except ModuleExit as ended:
                return ended.result
        return {"failed": True, "msg": f"{self.module_name} ended without a result"}
