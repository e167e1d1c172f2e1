# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The module base of the heroku_* modules: the generic API module with Heroku's auth and client (private)."""

from __future__ import annotations

import typing as t

from .._module import ApiModule, retry_policy
from .client import HEROKU_ARGUMENT_SPEC, HerokuClient, client_from_params

# Maintenance (heroku_app, heroku_app_fleet) outlasts a longer outage than other requests: after a
# failed restore or deploy it must go back once the API answers again.
MAINTENANCE_RETRY_MAX_WAIT = 60.0


class HerokuModule(ApiModule):
    """:class:`ApiModule` for the Heroku Platform and data APIs; ``client`` is a :class:`HerokuClient`."""

    auth_argument_spec = HEROKU_ARGUMENT_SPEC
    subject_label = "Heroku app"
    client: HerokuClient

    def make_client(self, params: t.Mapping[str, t.Any]) -> HerokuClient:
        return client_from_params(params, retry=retry_policy(params))

    @property
    def app(self) -> str:
        return self.params["app"]
