# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base of the supabase_* modules: the generic API module with Supabase's auth and client (private)."""

from __future__ import annotations

import typing as t

from .._module import ApiModule, retry_policy
from .client import SUPABASE_ARGUMENT_SPEC, SupabaseClient, client_from_params


class SupabaseModule(ApiModule):
    """:class:`ApiModule` for the Supabase Management API; ``client`` is a :class:`SupabaseClient`."""

    auth_argument_spec = SUPABASE_ARGUMENT_SPEC
    subject_label = "Supabase project"
    subject_option = "project_ref"
    client: SupabaseClient

    def make_client(self, params: t.Mapping[str, t.Any]) -> SupabaseClient:
        return client_from_params(params, retry=retry_policy(params))

    @property
    def ref(self) -> str:
        return self.params["project_ref"]
