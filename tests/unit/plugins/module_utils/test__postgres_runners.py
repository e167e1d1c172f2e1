# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import os
import subprocess

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._postgres import engine, procedures, runners, scripts
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError

URL = "postgres://app%40ops:s3cr%2Ft@db.internal:6543/my%20db?sslmode=require&options=-c%20statement_timeout%3D0"


class RecordingRunCommand:
    """module.run_command as LocalRunner calls it: records argv and the environment update."""

    def __init__(self, rc: int = 0, out: str = "", err: str = "") -> None:
        self.answer = (rc, out, err)
        self.calls: list[tuple[list[str], dict[str, str]]] = []

    def __call__(self, argv, environ_update=None, expand_user_and_vars=True):
        assert expand_user_and_vars is False
        self.calls.append((list(argv), dict(environ_update or {})))
        return self.answer


def test_a_url_becomes_libpq_variables_decoded():
    assert runners.url_environment(URL) == {
        "PGHOST": "db.internal", "PGPORT": "6543", "PGUSER": "app@ops", "PGPASSWORD": "s3cr/t",
        "PGDATABASE": "my db", "PGSSLMODE": "require", "PGOPTIONS": "-c statement_timeout=0"}


@pytest.mark.parametrize("url, message", [
    ("mysql://u:p@h/db", "must start with postgres://"),
    ("postgres://u:p@h", "must name a host and a database"),
    ("postgres://u:p@h:99999/db", "cannot be parsed"),
    ("postgres://u:p@h/db?password=x", "does not pass on: password"),
])
def test_a_bad_url_is_refused_without_showing_it(url, message):
    with pytest.raises(PostgresError, match=message) as caught:
        runners.url_environment(url)
    assert "u:p" not in str(caught.value)


def test_the_local_runner_connects_through_the_environment_never_the_command_line():
    run = RecordingRunCommand(out="ok")
    runner = runners.LocalRunner.from_url(run, URL, "appops-restore-abc", bin_dir="/opt/pg16/bin")
    assert runner.run(["pg_restore", *runner.connection_args(), "x.dump"], "pg_restore", {"PGOPTIONS": "-c a=b"}) == "ok"
    argv, env = run.calls[0]
    assert argv == ["pg_restore", "--dbname=my db", "x.dump"]
    assert not any("s3cr" in word for word in argv)
    assert env["PGPASSWORD"] == "s3cr/t" and env["PGAPPNAME"] == "appops-restore-abc"
    # The URL's own options are kept, the run's are added.
    assert env["PGOPTIONS"] == "-c statement_timeout=0 -c a=b"
    assert env["PATH"].startswith("/opt/pg16/bin" + os.pathsep)


def test_errors_are_scrubbed_of_the_url_and_its_password():
    run = RecordingRunCommand(rc=2, err=f"FATAL: bad password s3cr/t for {URL}")
    runner = runners.LocalRunner.from_url(run, URL, "appops-info-1")
    with pytest.raises(PostgresError) as caught:
        runner.run(["psql"], "counting the rows")
    assert "s3cr/t" not in str(caught.value) and URL not in str(caught.value)
    assert str(caught.value) == "counting the rows failed (exit 2): FATAL: bad password ******** for ********"
    assert set(runner.secrets()) == {URL, "s3cr/t"}


def test_an_archive_reader_has_no_connection():
    runner = runners.LocalRunner(RecordingRunCommand(), "appops-info-1")
    assert runner.connection_args() == [] and runner.secrets() == []


def test_the_docker_runner_tags_its_sessions_too():
    calls = []
    service = runners.ComposeService(lambda argv, **kw: calls.append(argv) or (0, "", ""), "/srv/app", "postgres")
    service._container = "c0ffee"
    runner = runners.DockerExecRunner(service, "coffee_db", "coffee", 5432, "appops-dump-" + "x" * 80)
    runner.run(["pg_dump"], "pg_dump")
    assert calls[0][:4] == ["docker", "exec", "--env", "PGAPPNAME=appops-dump-" + "x" * 51]
    assert len(runner.application_name) == runners.APPLICATION_NAME_MAX


@pytest.mark.parametrize("params, check_mode, expected", [
    ({"state": "restored", "lock_token": "f00d"}, False, "appops-restore-f00d"),
    ({"state": "restored", "lock_token": "f00d"}, True, "appops-plan-f00d"),
    ({"state": "dumped", "lock_token": None}, False, f"appops-dump-{os.getpid()}"),
    ({"state": "dumped", "lock_token": "f00d", "application_name": "mine"}, False, "mine"),
    # Named ids: an id made from the process id would differ between xdist workers, which then refuse
    # to run a suite whose workers collected different tests.
], ids=["restore", "plan-in-check-mode", "dump-without-lock", "given-name"])
def test_session_names_say_what_ran_and_which_run(params, check_mode, expected):
    assert procedures.session_name(params, check_mode) == expected


ARCHIVE_TEXT = r'''--
-- PostgreSQL database dump
--
SET client_encoding = 'UTF8';

COPY public.workers (id, name) FROM stdin;
1	Ann
2	Bob
\.


COPY "Odd Schema"."it's ""q""" (id) FROM stdin;
\.


COPY public.shifts (id) FROM stdin;
1
\.
'''


def test_the_archive_row_counter_counts_each_copy_block_under_its_quoted_name():
    # The awk program the engine runs over `pg_restore --data-only`, run for real.
    out = subprocess.run(["awk", scripts.COUNT_ARCHIVE_ROWS], input=ARCHIVE_TEXT, capture_output=True, text=True,
                         check=True).stdout
    assert engine.parse_tool_output(out)["row_counts"] == {
        "public.workers": 2, '"Odd Schema"."it\'s ""q"""': 0, "public.shifts": 1}


def test_inspecting_an_archive_runs_one_script_and_reads_its_facts():
    run = RecordingRunCommand(out='pg_restore (PostgreSQL) 15.18\nROWS {"public.workers": 40}\n')
    facts = engine.Postgres(runners.LocalRunner(run, "appops-info-1")).inspect_archive("/tmp/b.dump")
    assert facts == {"row_counts": {"public.workers": 40},
                     "tool_versions": {"pg_restore": "pg_restore (PostgreSQL) 15.18"}}
    argv, env = run.calls[0]
    assert argv[:3] == ["bash", "-o", "pipefail"] and argv[-1] == "/tmp/b.dump"
    assert "pg_restore --list" in argv[4] and "psql" not in argv[4]
    assert env == {"PGAPPNAME": "appops-info-1"}
