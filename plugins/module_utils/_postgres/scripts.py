# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the engine runs besides SQL: the archive row counter, the restore with parallel COPY and
its plan. Plain bash, awk and perl, so they run alike in a database's container and on this
machine (every Debian PostgreSQL client package brings perl: its client wrappers are perl).
"""

from __future__ import annotations

import re
import typing as t

from ansible_collections.appops.runbooks.plugins.module_utils._postgres.sql import unquote_name

# A line of `pg_restore --list` for a table's rows: "<id>; <catalog oid> <oid> TABLE DATA <schema> <table> <owner>".
TOC_TABLE_DATA = re.compile(r"^\d+; \d+ \d+ TABLE DATA (\S+) (.+) \S+$")
# awk over `pg_restore --data-only --file=-`: the rows of each COPY block of the archive. The
# table is the schema-qualified name after COPY, as pg_dump quoted it (it may hold spaces).
COUNT_ARCHIVE_ROWS = r"""BEGIN {printf "ROWS {"}
/^COPY / {match($0, /^COPY ([a-z_][a-z0-9_$]*|"([^"]|"")+")[.]([a-z_][a-z0-9_$]*|"([^"]|"")+")/)
          table=substr($0, 6, RLENGTH - 5); gsub(/"/, "\\\"", table); rows=0; copying=1; next}
copying && /^\\\.$/ {printf "%s\"%s\": %d", sep, table, rows; sep=", "; copying=0; next}
copying {rows++}
END {print "}"}"""

# A restore in pg_restore --clean's order, except that each big table's rows go through several
# COPY sessions at once: pg_restore --jobs spreads tables over its sessions but loads one table
# in one session, which keeps a single core busy for most of a restore with one big table.
# Arguments: $0 archive, $1 pg_restore jobs, $2 COPY streams per big table, $3 the TOC lines of
# everything else, $4 the TOC lines of the big tables' data, $5 COPY_SPLITTER, then connection args.
PARALLEL_COPY_RESTORE = r"""
set -euo pipefail
archive=$0 jobs=$1 streams=$2 splitter=$5
work=$(mktemp -d)
others=
trap 'if [ -n "$others" ]; then kill "$others" 2> /dev/null || true; fi; rm -rf "$work"' EXIT
printf '%s\n' "$3" > "$work/rest.list"
printf '%s\n' "$4" > "$work/big.list"
shift 5
# --clean drops post-data first (foreign keys before the tables they point at): the drop
# statements are what precedes the first created object in pg_restore's own script.
pg_restore --clean --if-exists --section=post-data --file=- "$archive" \
  | awk '/^-- Name: /{created=1} !created' \
  | psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 --output=/dev/null "$@" --file=-
pg_restore --clean --if-exists --no-owner --section=pre-data --use-list="$work/rest.list" "$@" "$archive"
# The other tables' rows load beside the big ones.
pg_restore --no-owner --section=data --use-list="$work/rest.list" "$@" "$archive" &
others=$!
pg_restore --data-only --use-list="$work/big.list" --file=- "$archive" | perl -e "$splitter" "$streams" "$@"
wait "$others"
others=
pg_restore --no-owner --section=post-data --jobs="$jobs" "$@" "$archive"
"""
# perl (every Debian PostgreSQL image has it: its client wrappers are perl) over the text of
# `pg_restore --data-only`: each COPY block's rows are dealt, in chunks of whole lines, to STREAMS
# psql sessions that COPY into the same table; the session settings of the script go first. A
# statement outside COPY (an archive dumped with --inserts) goes to one more session, in order.
# Arguments: STREAMS, then psql's connection args.
COPY_SPLITTER = r"""
use strict;
use warnings;
binmode STDIN;
my ($streams, @connection) = @ARGV;
my @psql = ('psql', '--no-psqlrc', '--quiet', '--set=ON_ERROR_STOP=1', '--output=/dev/null', @connection);
my $chunk = 256 * 1024;
my $pipe_size = 1 << 20;  # F_SETPIPE_SZ below: room for chunks while another session is fed
my ($buffer, $eof, $settings) = ('', 0, '');
my @seen;  # header lines, for a statements session opened later
my $statements;  # that session, once a statement outside COPY shows up

sub fill {
    return 0 if $eof;
    my $got = read(STDIN, my $more, $chunk);
    die "reading the archive's rows: $!\n" unless defined $got;
    $eof = 1 if $got == 0;
    $buffer .= $more;
    return $got > 0;
}

sub next_line {
    while (1) {
        my $end = index($buffer, "\n");
        return substr($buffer, 0, $end + 1, '') if $end >= 0;
        next if fill();
        return length($buffer) ? substr($buffer, 0, length($buffer), '') : undef;
    }
}

sub session {
    my @command = @_;
    open(my $session, '|-', @psql, @command) or die "cannot start psql: $!\n";
    binmode $session;
    fcntl($session, 1031, $pipe_size);
    return $session;
}

sub finish {
    my ($session, $what) = @_;
    close($session) or die "psql failed on $what (exit " . ($? >> 8) . ")\n";
}

sub copy_rows {
    my ($target) = @_;
    my @settings = length($settings) ? ('--command', $settings) : ();
    my @sessions = map { session(@settings, '--command', "COPY $target FROM STDIN") } 1 .. $streams;
    my $turn = 0;
    while (1) {
        # The buffer starts at a line's start: the terminator is a line of its own.
        my $end = substr($buffer, 0, 3) eq "\\.\n" ? 0 : index($buffer, "\n\\.\n");
        if ($end >= 0) {
            my $rows = substr($buffer, 0, $end == 0 ? 0 : $end + 1, '');
            substr($buffer, 0, 3, '');
            print { $sessions[$turn] } $rows if length $rows;
            last;
        }
        my $last_newline = rindex($buffer, "\n");
        if (length($buffer) >= $chunk && $last_newline >= 0) {
            print { $sessions[$turn] } substr($buffer, 0, $last_newline + 1, '');
            $turn = ($turn + 1) % @sessions;
        }
        fill() or die "the archive ends inside the rows of $target\n";
    }
    finish($_, "the rows of $target") for @sessions;
}

while (defined(my $line = next_line())) {
    if ($line =~ /^COPY (.+) FROM stdin;\n\z/) {
        copy_rows($1);
    } elsif (!$statements && $line =~ /^(?:SET |SELECT pg_catalog\.set_config\()/) {
        $settings .= $line;
        push @seen, $line;
    } elsif (!$statements && $line =~ /^(?:--|\s*$|\\)/) {
        push @seen, $line;
    } else {
        $statements //= session('--file=-');
        print { $statements } @seen, $line;
        @seen = ();
    }
}
finish($statements, 'the statements outside COPY') if $statements;
"""


class ParallelCopyPlan(t.NamedTuple):
    entries: list[str]  # TOC lines of the big tables' data
    rest: list[str]  # every other TOC line
    tables: list[str]  # the big tables, as format('%I.%I') names them
    note: str


def plan_parallel_copy(toc: str, min_rows: int, row_counts: t.Mapping[str, int]) -> ParallelCopyPlan:
    """Which TABLE DATA entries of a TOC (pg_restore --list) hold at least min_rows rows.

    The TOC names objects without quotes, so a manifest name is unquoted to be found; an entry
    whose schema holds a space is never matched and simply keeps pg_restore's one COPY.
    """
    wanted: dict[tuple[str, str], str] = {}
    for name, rows in row_counts.items():
        pair = unquote_name(name)
        if pair is not None and int(rows) >= min_rows:
            wanted[pair] = name
    entries: list[str] = []
    rest: list[str] = []
    tables: list[str] = []
    for line in toc.splitlines():
        match = TOC_TABLE_DATA.match(line)
        name = wanted.get((match.group(1), match.group(2))) if match else None
        if name is None:
            rest.append(line)
        else:
            entries.append(line)
            tables.append(name)
    note = "" if entries else f"no table of at least {min_rows} rows: one COPY per table"
    return ParallelCopyPlan(entries, rest, tables, note)
