# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One PostgreSQL engine for every store of the collection (private).

- ``runners``: where the client tools run and how they reach the database (``docker exec`` into a
  Compose service, or the tools of this machine with a connection from a database URL).
- ``engine``: dump, verify, row counts of an archive or of the live tables, catalog fingerprint,
  restore (with parallel COPY of big tables), all through a runner.
- ``marker``: the restore marker (which backup a database holds), read and written in one place.
- ``procedures``: what the modules do with the engine (dump, plan, restore), shared by every
  module that drives a PostgreSQL store.
"""
