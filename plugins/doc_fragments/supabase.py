# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of SUPABASE_ARGUMENT_SPEC in plugins/module_utils/_supabase/client.py: keep them in step.
    DOCUMENTATION = r"""
options:
  access_token:
    description:
      - Supabase personal access token (C(sbp_...)), sent as a Bearer token.
      - If not set, the value of the E(SUPABASE_ACCESS_TOKEN) environment variable is used.
      - Never shown in output or error messages.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the Supabase Management API.
      - If not set, the value of the E(SUPABASE_API_URL) environment variable is used.
    type: str
    default: https://api.supabase.com
  validate_certs:
    description:
      - Whether to verify TLS certificates of the API endpoint.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for an API response before the request counts as failed.
    type: float
    default: 30
  project_ref:
    description:
      - The project's reference id (20 lowercase letters, the C(<ref>) of C(<ref>.supabase.co)).
    type: str
    required: true
requirements:
  - requests
notes:
  - All modules of this group can get the credentials once, through C(module_defaults) with
    C(group/appops.runbooks.supabase).
  - A plain C(http://) API URL is refused unless its host is loopback.
"""

    # Attributes of the read-only modules (before ansible.builtin.action_common_attributes: the first wins).
    INFO_MODULE = r"""
attributes:
  check_mode:
    support: full
    details: Read-only; runs the same in check mode.
  diff_mode:
    support: none
  platform:
    platforms: all
  action_group:
    support: full
    membership: [appops.runbooks.supabase]
"""

    # Attributes of the modules that change things; a module overrides single keys in its own attributes.
    WRITE_MODULE = r"""
attributes:
  platform:
    platforms: all
  action_group:
    support: full
    membership: [appops.runbooks.supabase]
"""
