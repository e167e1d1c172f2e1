# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base of the atlas_* modules: the generic API module with Atlas's auth and client (private)."""

from __future__ import annotations

import typing as t

from .._module import ApiModule, retry_policy
from .client import ATLAS_ARGUMENT_SPEC, AtlasClient, CredentialsError, client_from_params


class AtlasModule(ApiModule):
    """:class:`ApiModule` for the Atlas Administration API; ``client`` is an :class:`AtlasClient`."""

    auth_argument_spec = ATLAS_ARGUMENT_SPEC
    subject_label = "Atlas cluster"
    subject_option = "cluster"
    client: AtlasClient

    def make_client(self, params: t.Mapping[str, t.Any]) -> AtlasClient:
        try:
            return client_from_params(params, retry=retry_policy(params))
        except CredentialsError as error:
            self.module.fail_json(msg=str(error))

    def wait_options(self) -> dict[str, float]:
        return {"timeout": self.params["wait_timeout"], "interval": self.params["poll_interval"]}
