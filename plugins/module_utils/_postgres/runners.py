# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where the PostgreSQL client tools run and how they reach the database.

A runner runs one client command (``psql``, ``pg_dump``, ``pg_restore`` or a bash script of them)
and gives the arguments that connect it to the database. The engine only ever talks to a runner:

- ``DockerExecRunner``: the tools of a Compose service's image, run with ``docker exec`` in its
  container, over the server's local socket (a compose store);
- ``LocalRunner``: the tools of this machine, connected by libpq environment variables taken
  from a database URL (a Heroku or Supabase database), or with no connection at all to read an
  archive.

Every session a runner opens carries ``application_name`` (libpq's ``PGAPPNAME``), so the run
that started a dump or a restore can be found in ``pg_stat_activity``. Secrets (the URL, its
password) go through the environment, never through a command line, and are scrubbed from
every error.
"""

from __future__ import annotations

import os
import typing as t
from urllib.parse import parse_qsl, unquote, urlsplit

from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError

RunCommand = t.Callable[..., t.Tuple[int, str, str]]

PROJECT_DIR_LABEL = "com.docker.compose.project.working_dir"
SERVICE_LABEL = "com.docker.compose.service"
# PostgreSQL keeps the first 63 bytes of application_name (NAMEDATALEN - 1).
APPLICATION_NAME_MAX = 63
# Connection parameters a URL may carry in its query, and the libpq variable of each.
URL_QUERY_ENVIRONMENT = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslcrl": "PGSSLCRL",
    "channel_binding": "PGCHANNELBINDING",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
    "options": "PGOPTIONS",
    "gssencmode": "PGGSSENCMODE",
}
MASK = "********"


def application_name(procedure: str, token: str | None = None) -> str:
    """``appops-<procedure>-<run token>`` (the process id without a token), cut to what the server keeps."""
    return f"appops-{procedure}-{token or os.getpid()}"[:APPLICATION_NAME_MAX]


class Runner:
    """Runs client tools against one database. Subclasses say where and how they connect."""

    #: Name of the database, as errors and results name it (never a secret).
    database: str = ""

    def __init__(self, app_name: str) -> None:
        self.application_name = app_name[:APPLICATION_NAME_MAX]
        self._secrets: list[str] = []

    def connection_args(self) -> list[str]:
        """Arguments that make psql, pg_dump and pg_restore reach the database."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where the tools run, for messages."""
        raise NotImplementedError

    def execute(self, argv: t.Sequence[str], env: t.Mapping[str, str]) -> tuple[int, str, str]:
        """Run argv with these extra environment variables; (rc, stdout, stderr)."""
        raise NotImplementedError

    def secrets(self) -> list[str]:
        """Values that must never be shown (the module adds them to its no_log values)."""
        return list(self._secrets)

    def scrub(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return text

    def run(self, argv: t.Sequence[str], what: str, env: t.Mapping[str, str] | None = None) -> str:
        """stdout of argv; a PostgresError naming ``what`` and the end of stderr when it fails."""
        session_env = {"PGAPPNAME": self.application_name, **(env or {})}
        rc, out, err = self.execute(argv, session_env)
        if rc != 0:
            detail = err.strip()[-800:] or out.strip()[-800:]
            raise PostgresError(self.scrub(f"{what} failed (exit {rc}): {detail}"))
        return out


class ComposeService:
    """One service of a Compose project on this host, reached through the docker CLI.

    The container is found once, by the labels Compose puts on it: every ``docker compose``
    call costs a project load, and a restore makes several execs.
    """

    def __init__(self, run_command: RunCommand, project_dir: str, service: str, docker: str = "docker") -> None:
        self.run_command = run_command
        self.project_dir = os.path.realpath(project_dir)
        self.service = service
        self.docker = docker
        self._container: str | None = None

    def container(self) -> str:
        if self._container is None:
            self._container = self._find_by_labels() or self._find_with_compose()
        return self._container

    def _find_by_labels(self) -> str | None:
        rc, out, _err = self.run_command([
            self.docker, "ps", "--quiet", "--no-trunc",
            "--filter", f"label={PROJECT_DIR_LABEL}={self.project_dir}",
            "--filter", f"label={SERVICE_LABEL}={self.service}",
        ])
        ids = out.split() if rc == 0 else []
        return ids[0] if ids else None

    def _find_with_compose(self) -> str:
        # A project started with -f or --project-directory elsewhere carries another working_dir label.
        rc, out, err = self.run_command([
            self.docker, "compose", "--project-directory", self.project_dir, "ps", "--quiet", self.service,
        ])
        ids = out.split() if rc == 0 else []
        if not ids:
            raise PostgresError(
                f"service {self.service!r} of the Compose project in {self.project_dir} is not running"
                f"{': ' + err.strip()[:300] if err.strip() else ''}"
            )
        return ids[0]

    def exec(self, argv: t.Sequence[str], env: t.Mapping[str, str] | None = None) -> tuple[int, str, str]:
        command = [self.docker, "exec"]
        for name, value in (env or {}).items():
            command += ["--env", f"{name}={value}"]
        command += [self.container(), *argv]
        # The arguments are scripts and SQL: a "$_" in them is perl's, not the environment's.
        return self.run_command(command, expand_user_and_vars=False)


class DockerExecRunner(Runner):
    """The tools of a Compose service's image, over the server's socket in the container."""

    def __init__(self, service: ComposeService, database: str, user: str, port: int, app_name: str) -> None:
        super().__init__(app_name)
        self.service = service
        self.database = database
        self.user = user
        self.port = port

    def connection_args(self) -> list[str]:
        return [f"--username={self.user}", f"--port={self.port}", f"--dbname={self.database}"]

    def describe(self) -> str:
        return f"{self.database} in {self.service.project_dir} ({self.service.service})"

    def execute(self, argv: t.Sequence[str], env: t.Mapping[str, str]) -> tuple[int, str, str]:
        return self.service.exec(argv, env)


class LocalRunner(Runner):
    """The tools of this machine; ``connection`` holds libpq variables (PGHOST, PGPASSWORD...).

    Without a connection only what reads an archive works (pg_restore --list, the row counter).
    """

    def __init__(self, run_command: RunCommand, app_name: str, connection: t.Mapping[str, str] | None = None,
                 bin_dir: str | None = None) -> None:
        super().__init__(app_name)
        self.run_command = run_command
        self.connection = dict(connection or {})
        self.database = self.connection.get("PGDATABASE", "")
        self.bin_dir = bin_dir
        if self.connection.get("PGPASSWORD"):
            self._secrets.append(self.connection["PGPASSWORD"])

    @classmethod
    def from_url(cls, run_command: RunCommand, url: str, app_name: str, bin_dir: str | None = None) -> LocalRunner:
        runner = cls(run_command, app_name, url_environment(url), bin_dir)
        runner._secrets.append(url)
        return runner

    def connection_args(self) -> list[str]:
        # pg_restore writes a script instead of restoring without --dbname; the name is no secret.
        return [f"--dbname={self.database}"] if self.database else []

    def describe(self) -> str:
        host = self.connection.get("PGHOST", "")
        return f"{self.database} on {host}" if host else "this machine's client tools"

    def execute(self, argv: t.Sequence[str], env: t.Mapping[str, str]) -> tuple[int, str, str]:
        environment = {**self.connection, **env}
        if "PGOPTIONS" in self.connection and "PGOPTIONS" in env:
            environment["PGOPTIONS"] = f"{self.connection['PGOPTIONS']} {env['PGOPTIONS']}"
        if self.bin_dir:
            environment["PATH"] = f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"
        return self.run_command(list(argv), environ_update=environment, expand_user_and_vars=False)


def url_environment(url: str) -> dict[str, str]:
    """libpq variables of a ``postgres://user:password@host:port/dbname?sslmode=...`` URL.

    Errors name the part that is wrong, never the URL itself.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise PostgresError("the database URL cannot be parsed (host or port)") from None
    if parts.scheme not in ("postgres", "postgresql"):
        raise PostgresError("the database URL must start with postgres:// or postgresql://")
    database = unquote(parts.path.lstrip("/"))
    if not parts.hostname or not database:
        raise PostgresError("the database URL must name a host and a database")
    environment = {"PGHOST": parts.hostname, "PGDATABASE": database}
    if port:
        environment["PGPORT"] = str(port)
    if parts.username:
        environment["PGUSER"] = unquote(parts.username)
    if parts.password:
        environment["PGPASSWORD"] = unquote(parts.password)
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key not in URL_QUERY_ENVIRONMENT:
            raise PostgresError(f"the database URL has a parameter this module does not pass on: {key}")
        environment[URL_QUERY_ENVIRONMENT[key]] = value
    return environment
