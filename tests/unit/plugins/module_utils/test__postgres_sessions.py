# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The wait for a killed run's sessions: which statement is sent, how long it waits, what it refuses.
The integration test (tests/integration/compose/test_recovery.py) runs it against a real server."""
from __future__ import annotations

import json
import typing as t

import pytest

from ansible_collections.appops.runbooks.plugins.module_utils._postgres import sessions
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.engine import Postgres
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.errors import PostgresError
from ansible_collections.appops.runbooks.plugins.module_utils._postgres.runners import Runner

SESSION = {"pid": 42, "application_name": "appops-restore-0f3c", "state": "active"}


class AnswersInTurn(Runner):
    """A runner whose psql prints the next of `answers` (the server's sessions over time)."""

    def __init__(self, answers: list[list[dict[str, t.Any]]]) -> None:
        super().__init__("appops-sessions-0f3c")
        self.answers = answers
        self.statements: list[str] = []

    def connection_args(self) -> list[str]:
        return []

    def describe(self) -> str:
        return "test database"

    def execute(self, argv: t.Sequence[str], env: t.Mapping[str, str]) -> tuple[int, str, str]:
        self.statements.append(argv[-1])
        return 0, json.dumps(self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]), ""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_statement_finds_every_procedure_of_the_run_but_not_the_asking_session():
    runner = AnswersInTurn([[SESSION]])
    assert sessions.sessions_of_run(Postgres(runner), "0f3c") == [SESSION]
    assert "application_name LIKE 'appops-%-' || '0f3c'" in runner.statements[0]
    assert "pid <> pg_backend_pid()" in runner.statements[0]


@pytest.mark.parametrize("token", ["", "x'; DROP TABLE y; --", "a b", "-starts-with-dash"])
def test_a_token_that_is_not_a_token_never_reaches_sql(token):
    runner = AnswersInTurn([[]])
    with pytest.raises(PostgresError, match="run token"):
        sessions.sessions_of_run(Postgres(runner), token)
    assert runner.statements == []


def test_the_wait_ends_when_the_sessions_have_ended():
    clock = Clock()
    runner = AnswersInTurn([[SESSION], [SESSION], []])
    found, waited = sessions.wait_for_sessions_to_end(Postgres(runner), "0f3c", 25, interval=2, clock=clock,
                                                      sleep=clock.sleep)
    assert found == [] and waited == 4.0 and len(runner.statements) == 3


def test_the_wait_is_bounded_and_returns_the_sessions_still_there():
    clock = Clock()
    runner = AnswersInTurn([[SESSION]])
    found, waited = sessions.wait_for_sessions_to_end(Postgres(runner), "0f3c", 5, interval=2, clock=clock,
                                                      sleep=clock.sleep)
    assert found == [SESSION] and waited == 5.0


def test_no_wait_looks_once():
    runner = AnswersInTurn([[SESSION]])
    found, waited = sessions.wait_for_sessions_to_end(Postgres(runner), "0f3c", 0, clock=Clock(), sleep=pytest.fail)
    assert found == [SESSION] and waited == 0.0 and len(runner.statements) == 1
