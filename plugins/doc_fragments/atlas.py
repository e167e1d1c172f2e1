# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    # Twin of ATLAS_ARGUMENT_SPEC in plugins/module_utils/_atlas/client.py: keep them in step.
    DOCUMENTATION = r"""
options:
  project_id:
    description:
      - Id of the Atlas project (group) the cluster or access list belongs to.
      - If not set, the value of the E(MONGODB_ATLAS_PROJECT_ID) environment variable is used.
    type: str
    required: true
  public_key:
    description:
      - Public key of an Atlas programmatic API key; requests are signed with HTTP Digest.
      - If not set, the value of the E(MONGODB_ATLAS_PUBLIC_KEY) environment variable is used.
      - Give either O(public_key) and O(private_key), or O(client_id) and O(client_secret).
    type: str
  private_key:
    description:
      - Private key of the API key. Never shown in output or error messages.
      - If not set, the value of the E(MONGODB_ATLAS_PRIVATE_KEY) environment variable is used.
    type: str
  client_id:
    description:
      - Client id of an Atlas service account. When set, the module signs in with OAuth 2.0 client
        credentials at C(/api/oauth/token) and sends the access token as a Bearer token. The token is kept
        until shortly before it expires and asked for again after that (or when Atlas answers 401).
      - If not set, the value of the E(MONGODB_ATLAS_CLIENT_ID) environment variable is used.
    type: str
  client_secret:
    description:
      - Secret of the service account. Neither it nor the access tokens are shown in output or error messages.
      - If not set, the value of the E(MONGODB_ATLAS_CLIENT_SECRET) environment variable is used.
    type: str
  api_url:
    description:
      - Base URL of the Atlas Administration API (and of its token endpoint).
      - If not set, the value of the E(MONGODB_ATLAS_BASE_URL) environment variable is used.
    type: str
    default: https://cloud.mongodb.com
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the API endpoint.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for an API response before the request counts as failed.
    type: float
    default: 30
requirements:
  - requests
notes:
  - All modules of this group can get these options once, through
    C(module_defaults) with C(group/appops.runbooks.atlas).
  - The modules speak the versioned Administration API v2 (C(application/vnd.atlas.2023-01-01+json), and
    C(application/vnd.atlas.2024-08-05+json) for clusters).
  - Requests that are safe to repeat are retried on server errors and connection errors with jittered
    exponential backoff; every request is retried on HTTP 429, honouring C(Retry-After) (see O(retries) and
    O(retry_max_wait)). A plain C(http://) API URL is refused unless its host is loopback.
"""

    WAIT = r"""
options:
  wait:
    description:
      - Whether to wait until the started work finishes.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait before giving up; the failure names the job and carries the last state seen.
    type: float
    default: 1800
  poll_interval:
    description:
      - Seconds between two status checks while waiting.
    type: float
    default: 5
"""

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
    membership: [appops.runbooks.atlas]
"""

    WRITE_MODULE = r"""
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    platforms: all
  action_group:
    support: full
    membership: [appops.runbooks.atlas]
"""
