# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real ``mongodump`` and ``mongorestore`` (MongoDB Database Tools), run on this machine.

The connection string goes into a 0600 config file the tools read (``--config``, whose ``uri:``
key the Database Tools accept), never onto the command line where ``ps`` would show its password.
The tools get the database by ``--db``/``--nsInclude``, never in the string's path: with a
database in the path, ``mongorestore`` takes it as ``--db`` and then ignores ``--nsInclude``,
restoring (and dropping) every collection of the archive, a trap of the runbook's line
``mongorestore --uri="$MONGODB_URI" --drop --nsInclude=...``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import typing as t
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ansible_collections.appops.runbooks.plugins.module_utils._mongo.client import URI_OPTION

VERSION_LINE = re.compile(r"version:\s*r?(\S+)")
DEFAULT_TIMEOUT = 3600
# The options every module over the tools takes (doc fragments appops.runbooks.mongodb and
# appops.runbooks.mongodb.tools).
TOOLS_ARGUMENT_SPEC: dict[str, dict[str, t.Any]] = {
    "uri": URI_OPTION,
    "bin_dir": {"type": "path"},
    "timeout": {"type": "int", "default": DEFAULT_TIMEOUT},
}


class ToolError(Exception):
    """A tool is missing or exited with an error."""


def find_tool(name: str, bin_dir: str | None = None) -> str:
    """The path of a Database Tools binary: in bin_dir when given, else on PATH."""
    if bin_dir:
        path = os.path.join(bin_dir, name)
        if os.access(path, os.X_OK):
            return path
        raise ToolError(f"{name} is not in {bin_dir} (MongoDB Database Tools)")
    found = shutil.which(name)
    if not found:
        raise ToolError(f"{name} is not on PATH: install the MongoDB Database Tools (bindep.txt)")
    return found


def tool_version(path: str) -> str:
    done = subprocess.run([path, "--version"], capture_output=True, text=True, check=False, timeout=60)
    match = VERSION_LINE.search(done.stdout or "")
    return match.group(1) if match else "unknown"


def uri_database(uri: str) -> str:
    """The database named in a connection string's path ('' when none)."""
    return urlsplit(uri).path.lstrip("/").split("/", 1)[0]


def uri_without_database(uri: str) -> str:
    """The connection string with its path emptied. A database in the path is also the default
    authentication database: with credentials and no authSource, it moves to authSource."""
    parts = urlsplit(uri)
    database = uri_database(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if database and "@" in parts.netloc and not any(key.lower() == "authsource" for key, _value in query):
        query.append(("authSource", database))
    return urlunsplit((parts.scheme, parts.netloc, "/", urlencode(query), parts.fragment))


def redact(text: str, uri: str) -> str:
    """Tool output without the connection string or its password."""
    secrets = [uri, uri_without_database(uri)]
    password = urlsplit(uri).password
    if password:
        secrets.append(password)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "********")
    return text


class Tools:
    """mongodump and mongorestore of one installation."""

    def __init__(self, bin_dir: str | None = None, timeout: int = DEFAULT_TIMEOUT) -> None:
        self.bin_dir = bin_dir
        self.timeout = timeout

    def path(self, name: str) -> str:
        return find_tool(name, self.bin_dir)

    def versions(self) -> dict[str, str]:
        return {name: tool_version(self.path(name)) for name in ("mongodump", "mongorestore")}

    def run(self, name: str, uri: str, arguments: t.Sequence[str]) -> str:
        """Runs the tool with the connection string in a private config file; its log (stderr) back."""
        binary = self.path(name)
        folder = tempfile.mkdtemp(prefix="appops-mongo-")
        try:
            config = os.path.join(folder, "config.yaml")
            descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                # A JSON string is a valid YAML double-quoted scalar.
                handle.write(f"uri: {json.dumps(uri_without_database(uri))}\n")
            done = subprocess.run([binary, f"--config={config}", *arguments], capture_output=True, text=True,
                                  check=False, timeout=self.timeout)
        except subprocess.TimeoutExpired as error:
            raise ToolError(f"{name} did not finish within {self.timeout} s") from error
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        log = redact((done.stderr or "") + (done.stdout or ""), uri)
        if done.returncode != 0:
            raise ToolError(f"{name} exited with {done.returncode}: {log.strip()[-1500:]}")
        return log

    def dump(self, uri: str, database: str, archive: str, exclude: t.Sequence[str] = ()) -> str:
        arguments = [f"--db={database}", f"--archive={archive}", "--gzip"]
        arguments += [f"--excludeCollection={name}" for name in exclude]
        return self.run("mongodump", uri, arguments)

    def restore(self, uri: str, archive: str, namespaces: t.Sequence[str], drop: bool = True) -> str:
        arguments = [f"--archive={archive}", "--gzip", *(["--drop"] if drop else [])]
        arguments += [f"--nsInclude={name}" for name in namespaces]
        return self.run("mongorestore", uri, arguments)
