# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base of the vercel_* modules: the generic API module with Vercel's auth and client (private)."""

from __future__ import annotations

import typing as t

from .._module import ApiModule, retry_policy
from .client import VERCEL_ARGUMENT_SPEC, VercelClient, client_from_params


class VercelModule(ApiModule):
    """:class:`ApiModule` for the Vercel REST API; ``client`` is a :class:`VercelClient`."""

    auth_argument_spec = VERCEL_ARGUMENT_SPEC
    subject_label = "Vercel project"
    subject_option = "project"
    client: VercelClient

    def make_client(self, params: t.Mapping[str, t.Any]) -> VercelClient:
        return client_from_params(params, retry=retry_policy(params))

    @property
    def project_name(self) -> str:
        return self.params["project"]
