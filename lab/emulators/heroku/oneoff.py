"""One-off dynos: a small shell that runs the runbooks' commands against the emulated app.

It understands what the runbooks run (``rails db:migrate``, ``rails runner "puts ..."``,
``npm run seed``, ``exit N``, ``echo``, the ``--exit-code`` wrapper) and answers anything
else with bash's "command not found", so a runbook step the lab cannot emulate fails loudly.
"""

from __future__ import annotations

import random
import re
import shlex
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg2

from . import database
from .httpcore import ApiError
from .lab import Lab
from .model import App, OneOff, new_id

Emit = Callable[[str], None]


class CommandExit(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class RubyError(Exception):
    """Printed like Ruby prints an uncaught exception; the process exits 1."""


def split_commands(line: str) -> list[tuple[str, str]]:
    """Split on top-level ``;``, ``&&``, ``||`` and newlines, keeping quoted text intact."""
    parts: list[tuple[str, str]] = []
    current: list[str] = []
    quote = ""
    index = 0
    joiner = ";"
    while index < len(line):
        char = line[index]
        if quote:
            current.append(char)
            if char == "\\" and quote == '"' and index + 1 < len(line):
                current.append(line[index + 1])
                index += 1
            elif char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
            current.append(char)
        elif line.startswith("&&", index) or line.startswith("||", index):
            parts.append((joiner, "".join(current).strip()))
            joiner = line[index:index + 2]
            current = []
            index += 1
        elif char in ";\n":
            parts.append((joiner, "".join(current).strip()))
            joiner = ";"
            current = []
        else:
            current.append(char)
        index += 1
    parts.append((joiner, "".join(current).strip()))
    return [(j, c) for j, c in parts if c]


def _expand_status(segment: str, status: int) -> str:
    """Replace ``$?`` outside single quotes, as bash does before running ``echo``."""
    out, quote = [], ""
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "'" and quote != '"':
            quote = "" if quote == "'" else "'"
        elif char == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
        if quote != "'" and segment.startswith("$?", index):
            out.append(str(status))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


class DynoShell:
    """Runs one command line for one app; output goes to ``emit`` as it is produced."""

    def __init__(self, lab: Lab, app: App, dyno: OneOff, emit: Emit) -> None:
        self.lab = lab
        self.app = app
        self.dyno = dyno
        self.emit = emit

    def say(self, text: str = "") -> None:
        self.emit(text + "\n")

    def run(self, line: str) -> int:
        status = 0
        for joiner, segment in split_commands(line):
            if (joiner == "&&" and status != 0) or (joiner == "||" and status == 0):
                continue
            try:
                status = self.run_simple(_expand_status(segment, status))
            except CommandExit as done:
                return done.status
        return status

    def run_simple(self, segment: str) -> int:
        try:
            argv = shlex.split(segment)
        except ValueError as error:
            self.say(f"bash: syntax error: {error}")
            return 2
        while argv and argv[0] in ("launcher", "bundle", "exec", "time"):
            argv = argv[1:]
        if not argv:
            return 0
        name, args = argv[0], argv[1:]
        if name in ("bin/rails", "./bin/rails", "rake", "bin/rake"):
            name = "rails"
        handler = getattr(self, "cmd_" + name.replace("-", "_"), None) if re.fullmatch(r"[a-z][\w-]*", name) else None
        if handler is None:
            self.say(f"bash: line 1: {name}: command not found")
            return 127
        return int(handler(args))

    # ------------------------------------------------------------------ shell builtins
    def cmd_echo(self, args: list[str]) -> int:
        self.say(" ".join(args))
        return 0

    def cmd_exit(self, args: list[str]) -> int:
        raise CommandExit(int(args[0]) % 256 if args and args[0].lstrip("-").isdigit() else 0)

    def cmd_true(self, args: list[str]) -> int:
        return 0

    def cmd_false(self, args: list[str]) -> int:
        return 1

    def cmd_sleep(self, args: list[str]) -> int:
        time.sleep(min(30.0, float(args[0]) if args else 0.0))
        return 0

    def _env(self) -> dict[str, str]:
        return {**self.app.config_now(), **self.dyno.env, "DYNO": self.dyno.name, "PORT": "5000",
                "HOME": "/app", "STACK": "heroku-24"}

    def cmd_printenv(self, args: list[str]) -> int:
        env = self._env()
        if args:
            if args[0] not in env:
                return 1
            self.say(env[args[0]])
            return 0
        for key in sorted(env):
            self.say(f"{key}={env[key]}")
        return 0

    cmd_env = cmd_printenv

    def cmd_bash(self, args: list[str]) -> int:
        if len(args) >= 2 and args[0] == "-c":
            return self.run(args[1])
        self.say("bash: interactive shells are not emulated; use bash -c COMMAND")
        return 1

    cmd_sh = cmd_bash

    # ------------------------------------------------------------------ Node
    def cmd_npm(self, args: list[str]) -> int:
        if self.app.kind != "node":
            self.say("bash: line 1: npm: command not found")
            return 127
        if args[:2] == ["run", "seed"]:
            if self.app.knobs.db_down:
                self.say("Connecting to MongoDB...")
                self.say("❌ MongoDB connection failed: connection timed out")
                return 1
            count = 412
            self.say(f"> {self.app.name}@1.0.0 seed")
            self.say("> node scripts/seed.js")
            self.say("Connecting to MongoDB...")
            self.say(f"✅ Seeded {count} open mics")
            self.say("✅ Created indexes on mics: day, borough, location (2dsphere)")
            with self.lab.lock:
                self.app.mics = count
            return 0
        script = args[1] if len(args) > 1 and args[0] == "run" else (args[0] if args else "")
        self.say(f'npm ERR! Missing script: "{script}"')
        return 1

    # ------------------------------------------------------------------ Rails
    def _require_rails(self) -> bool:
        if self.app.kind != "rails":
            self.say("bash: line 1: rails: command not found")
            return False
        return True

    def _db(self) -> database.AppDatabase:
        if self.app.postgres() is None:
            raise RubyError("ActiveRecord::ConnectionNotEstablished: No database configured (DATABASE_URL is unset)")
        return database.database_for(self.app.name)

    def _connection_error(self, error: psycopg2.Error) -> RubyError:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return RubyError(f"ActiveRecord::ConnectionNotEstablished: {first}")

    def cmd_rails(self, args: list[str]) -> int:
        if not self._require_rails():
            return 127
        if not args:
            self.say("Usage: rails COMMAND [options]")
            return 1
        try:
            if args[0] == "db:migrate":
                return self._migrate()
            if args[0] == "db:migrate:status":
                return self._migrate_status()
            if args[0] in ("runner", "r") and len(args) >= 2:
                return self._runner(args[1])
            if args[0] in ("console", "c"):
                self.say("Loading production environment (Rails 7.1.3)")
                self.say("The lab does not emulate an interactive console; use rails runner.")
                return 1
        except RubyError as error:
            self.say(str(error))
            return 1
        self.say(f"Unrecognized command \"{args[0]}\" (Rails::Command::UnrecognizedCommandError)")
        return 1

    def _target_version(self) -> int | None:
        release = next((r for r in self.app.releases if r.id == self.dyno.release_id), None)
        return release.schema_version if release else None

    def _migrate(self) -> int:
        db = self._db()
        target = self._target_version()
        try:
            current = database.schema_version(db)
            if target is not None and target > current:
                self.say(f"== {target} LabMigration{target}: migrating " + "=" * 30)
                started = time.monotonic()
                database.migrate_to(db, target)
                self.say(f"== {target} LabMigration{target}: migrated ({time.monotonic() - started:.4f}s) "
                         + "=" * 20)
        except psycopg2.Error as error:
            raise self._connection_error(error) from None
        return 0

    def _migrate_status(self) -> int:
        db = self._db()
        target = self._target_version() or 0
        try:
            current = database.schema_version(db)
        except psycopg2.Error as error:
            raise self._connection_error(error) from None
        self.say(f"database: {db.name}")
        self.say("")
        self.say(" Status   Migration ID    Migration Name")
        self.say("--------------------------------------------------")
        if current:
            self.say(f"   up     {current}  Lab migration")
        if target > current:
            self.say(f"  down    {target}  Lab migration")
        return 0

    # ---- a tiny Ruby: puts/p/print of strings, counts, versions, +, .to_s and a ternary
    _TOKEN = re.compile(r"""\s*(?:(?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(?P<num>\d+)|"""
                        r"""(?P<chain>[A-Za-z_][\w]*(?:(?:::|\.)[A-Za-z_]\w*[?!]?)*)|(?P<op>[+?:()]))""")

    def _runner(self, code: str) -> int:
        for statement in re.split(r"[\n;]+", code):
            statement = statement.strip()
            if not statement:
                continue
            match = re.fullmatch(r"(puts|p|print)\s*\(?(.*?)\)?", statement, re.S)
            if not match:
                raise RubyError(f"undefined local variable or method `{statement.split()[0]}' for main:Object "
                                "(NameError)")
            value = self._evaluate(match.group(2))
            text = repr(value) if match.group(1) == "p" and isinstance(value, str) else self._to_s(value)
            self.emit(text + ("" if match.group(1) == "print" else "\n"))
        return 0

    @staticmethod
    def _to_s(value: Any) -> str:
        if value is True:
            return "true"
        if value is False:
            return "false"
        return str(value)

    def _tokens(self, text: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        text = text.strip()
        while position < len(text):
            match = self._TOKEN.match(text, position)
            if not match or match.end() == position:
                raise RubyError(f"syntax error, unexpected '{text[position:position + 10]}' (SyntaxError)")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            position = match.end()
            while position < len(text) and text[position].isspace():
                position += 1
        return tokens

    def _evaluate(self, text: str) -> Any:
        tokens = self._tokens(text)
        value, rest = self._ternary(tokens)
        if rest:
            raise RubyError(f"syntax error, unexpected {rest[0][1]} (SyntaxError)")
        return value

    def _ternary(self, tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
        condition, rest = self._sum(tokens)
        if rest and rest[0] == ("op", "?"):
            yes, rest = self._sum(rest[1:])
            if not rest or rest[0] != ("op", ":"):
                raise RubyError("syntax error, unexpected end-of-input, expecting ':' (SyntaxError)")
            no, rest = self._sum(rest[1:])
            return (yes if condition not in (False, None) else no), rest
        return condition, rest

    def _sum(self, tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
        value, rest = self._term(tokens)
        while rest and rest[0] == ("op", "+"):
            other, rest = self._term(rest[1:])
            if isinstance(value, str) != isinstance(other, str):
                raise RubyError(f"no implicit conversion of {'Integer' if isinstance(other, int) else 'String'} "
                                "into String (TypeError)")
            value = value + other
        return value, rest

    def _term(self, tokens: list[tuple[str, str]]) -> tuple[Any, list[tuple[str, str]]]:
        if not tokens:
            raise RubyError("syntax error, unexpected end-of-input (SyntaxError)")
        kind, text = tokens[0]
        if kind == "str":
            body = text[1:-1]
            return (body.replace("\\'", "'") if text[0] == "'" else bytes(body, "utf-8").decode("unicode_escape")), \
                tokens[1:]
        if kind == "num":
            return int(text), tokens[1:]
        if kind == "op" and text == "(":
            value, rest = self._ternary(tokens[1:])
            return value, rest[1:] if rest and rest[0] == ("op", ")") else rest
        if kind == "chain":
            return self._chain(text), tokens[1:]
        raise RubyError(f"syntax error, unexpected '{text}' (SyntaxError)")

    def _chain(self, chain: str) -> Any:
        suffix_to_s = chain.endswith(".to_s")
        if suffix_to_s:
            chain = chain[: -len(".to_s")]
        value = self._resolve(chain)
        return self._to_s(value) if suffix_to_s else value

    def _resolve(self, chain: str) -> Any:
        if chain in ("Rails.env",):
            return self.app.config_now().get("RAILS_ENV", "production")
        db = self._db()
        try:
            if chain in ("ActiveRecord::Base.connection.migration_context.current_version",
                         "ActiveRecord::Migrator.current_version",
                         "ActiveRecord::Base.connection.schema_version"):
                return database.schema_version(db)
            if chain in ("ActiveRecord::Base.connection.active?", "ActiveRecord::Base.connected?"):
                return database.probe(db) is not None
            match = re.fullmatch(r"([A-Z]\w*)\.count", chain)
            if match:
                table = re.sub(r"(?<!^)(?=[A-Z])", "_", match.group(1)).lower() + "s"
                return database.count_rows(db, table)
        except psycopg2.errors.UndefinedTable as error:
            first = str(error).strip().splitlines()[0]
            raise RubyError(f"ActiveRecord::StatementInvalid: PG::UndefinedTable: {first}") from None
        except psycopg2.Error as error:
            raise self._connection_error(error) from None
        head = chain.split(".")[0]
        raise RubyError(f"uninitialized constant {head} (NameError)")


# ---------------------------------------------------------------------- dyno lifecycle

def create_oneoff(lab: Lab, app: App, body: dict[str, Any]) -> OneOff:
    command = body.get("command")
    if not command or not isinstance(command, str):
        raise ApiError(422, "invalid_params", "command is required.")
    release = app.current_release()
    if release is None:
        raise ApiError(409, "conflict", "No release yet; push code first.")
    size = body.get("size") or "Basic"
    now = time.time()
    with lab.lock:
        taken = set(app.oneoffs)
        number = random.Random(now).randint(1000, 9999)
        while f"run.{number}" in taken:
            number += 1
        dyno = OneOff(new_id(), f"run.{number}", command, str(size), now, now, release.id, release.version,
                      bool(body.get("attach")), {str(k): str(v) for k, v in (body.get("env") or {}).items()},
                      secret=new_id().replace("-", ""))
        app.oneoffs[dyno.name] = dyno
    lab.log(app, "app", "api", f"Starting process with command `{command}` by user ops@appops.example")
    if not dyno.attach:
        threading.Thread(target=run_oneoff, args=(lab, app, dyno, None), daemon=True).start()
    else:
        threading.Thread(target=_expire_unattached, args=(lab, app, dyno), daemon=True).start()
    return dyno


def _set_state(lab: Lab, app: App, dyno: OneOff, state: str) -> None:
    with lab.lock:
        old = dyno.state
        dyno.state = state
        dyno.updated_at = time.time()
        app.add_log("heroku", dyno.name, f"State changed from {old} to {state}")
        lab.changed.notify_all()


def _expire_unattached(lab: Lab, app: App, dyno: OneOff, timeout: float = 30.0) -> None:
    """Heroku gives up on a dyno nobody attaches to; so does the lab."""
    time.sleep(timeout)
    with lab.lock:
        if dyno.claimed:
            return
        dyno.claimed = True
    lab.log(app, "heroku", dyno.name, "Error R13 (Attach error) -> Failed to attach to process")
    dyno.exit_status = 1
    _set_state(lab, app, dyno, "crashed")
    dyno.finished.set()


def run_oneoff(lab: Lab, app: App, dyno: OneOff, stream: Emit | None) -> int:
    """Run the dyno's command once: starting -> up -> complete (exit 0) or crashed."""
    with lab.lock:
        if dyno.claimed or dyno.state != "starting":
            return dyno.exit_status or 0
        dyno.claimed = True
    time.sleep(0.2)
    _set_state(lab, app, dyno, "up")
    buffer = {"text": ""}

    def emit(text: str) -> None:
        if stream is not None:
            stream(text)
        buffer["text"] += text
        *lines, buffer["text"] = buffer["text"].split("\n")
        for line in lines:
            lab.log(app, "app", dyno.name, line)

    status = DynoShell(lab, app, dyno, emit).run(dyno.command)
    if buffer["text"]:
        lab.log(app, "app", dyno.name, buffer["text"])
    lab.log(app, "heroku", dyno.name, f"Process exited with status {status}")
    dyno.exit_status = status
    _set_state(lab, app, dyno, "complete" if status == 0 else "crashed")
    dyno.finished.set()
    return status
