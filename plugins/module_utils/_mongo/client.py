# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one way the mongodb_* modules open a pymongo client, and the module base of mongodb_index(_info).

The connection string holds the database password: it is an option with ``no_log`` (``URI_OPTION``,
shared by every mongodb_* module) and MongoModule adds its password to the module's no-log values,
so neither appears in output or in an error text.
"""

from __future__ import annotations

import typing as t
from urllib.parse import unquote, urlsplit

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError
    HAS_PYMONGO = True
    PYMONGO_IMPORT_ERROR: Exception | None = None
except ImportError as exc:  # pragma: no cover - exercised only where pymongo is missing
    HAS_PYMONGO = False
    PYMONGO_IMPORT_ERROR = exc
    PyMongoError = Exception  # type: ignore[assignment,misc]

# The uri option of every mongodb_* module (doc fragment appops.runbooks.mongodb).
URI_OPTION: dict[str, t.Any] = {"type": "str", "required": True, "no_log": True}
# Twin of the appops.runbooks.mongodb.connection doc fragment: keep them in step.
MONGODB_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "uri": {**URI_OPTION, "fallback": (env_fallback, ["MONGODB_URI"])},
    "database": {"type": "str"},
    "connect_timeout": {"type": "float", "default": 10.0},
}


def open_client(uri: str, timeout_ms: int, **options: t.Any) -> t.Any:
    """A MongoClient that gives up finding a server after timeout_ms; options go to MongoClient as they are."""
    if not HAS_PYMONGO:
        raise ImportError(f"pymongo is required: {PYMONGO_IMPORT_ERROR}")
    return MongoClient(uri, serverSelectionTimeoutMS=timeout_ms, **options)


def password_of(uri: str) -> str | None:
    try:
        password = urlsplit(uri).password
    except ValueError:
        return None
    return unquote(password) if password else None


def database_of(uri: str) -> str | None:
    try:
        path = urlsplit(uri).path.lstrip("/")
    except ValueError:
        return None
    return unquote(path) or None


class MongoModule:
    """AnsibleModule plus a MongoClient; every PyMongoError becomes one failure naming the step."""

    def __init__(self, argument_spec: t.Mapping[str, dict[str, t.Any]], **kwargs: t.Any) -> None:
        kwargs.setdefault("supports_check_mode", True)
        self.module = AnsibleModule(argument_spec={**MONGODB_ARGUMENT_SPEC, **argument_spec}, **kwargs)
        if not HAS_PYMONGO:
            self.module.fail_json(msg=missing_required_lib("pymongo"), exception=str(PYMONGO_IMPORT_ERROR))
        uri = self.params["uri"]
        password = password_of(uri)
        if password:
            self.module.no_log_values.add(password)
        self.database_name = self.params["database"] or database_of(uri)
        if not self.database_name:
            self.module.fail_json(msg="name the database: set database, or put it in the URI (mongodb://host/db)")
        self.operation = "connecting"
        timeout_ms = int(self.params["connect_timeout"] * 1000)
        self.client: t.Any = open_client(uri, timeout_ms, connectTimeoutMS=timeout_ms)

    @property
    def params(self) -> dict[str, t.Any]:
        return self.module.params

    @property
    def database(self) -> t.Any:
        return self.client[self.database_name]

    def doing(self, operation: str) -> None:
        self.operation = operation

    def exit(self, changed: bool, before: t.Any = None, after: t.Any = None, **result: t.Any) -> t.NoReturn:
        if self.module._diff and (before is not None or after is not None):
            result["diff"] = {"before": before, "after": after}
        self.module.exit_json(changed=changed, **result)

    def fail(self, msg: str, **result: t.Any) -> t.NoReturn:
        self.module.fail_json(msg=msg, **result)

    def run(self, body: t.Callable[[MongoModule], None]) -> None:
        try:
            body(self)
        except PyMongoError as error:
            self.fail(f"MongoDB database {self.database_name!r}: {self.operation} failed: {error}",
                      error_code=getattr(error, "code", None))
        finally:
            self.client.close()
