# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error type of the PostgreSQL engine."""

from __future__ import annotations


class PostgresError(Exception):
    """A client tool or docker command failed; the message names the step, never a secret."""
