#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: redis_keys_info
short_description: Count the keys of a Redis database, and those matching a pattern, without KEYS
version_added: 0.1.0
description:
  - Counts the keys of database O(db) (C(DBSIZE)), of every database (C(INFO keyspace)) and, with O(pattern),
    the keys whose names match it, such as the C(session:*) keys a runbook lists with C(redis-cli KEYS).
  - The pattern is counted with C(SCAN ... MATCH), a few hundred keys per call, never with C(KEYS), which walks
    the whole keyspace in one command and blocks every other client of the server (the app's sessions
    included) until it is done.
  - Returns counts only, never key names (session keys carry session ids).
author:
  - appops maintainers (@appops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
options:
  host:
    description: Host of the Redis server.
    type: str
    default: 127.0.0.1
  port:
    description: Port of the Redis server.
    type: int
    default: 6379
  user:
    description: ACL user (Redis 6 and later).
    type: str
  password:
    description: Password; never shown.
    type: str
  tls:
    description: Connect with TLS (C(rediss://)).
    type: bool
    default: false
  validate_certs:
    description: Verify the server's TLS certificate.
    type: bool
    default: true
  db:
    description: The database to count in (the path of a C(redis://host/2) URL).
    type: int
    default: 0
  pattern:
    description: Also count the keys of O(db) whose names match this glob-style pattern.
    type: str
  scan_count:
    description: How many keys one C(SCAN) call looks at (the C(COUNT) hint).
    type: int
    default: 500
requirements:
  - redis (Python library)
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
notes:
  - The flush itself is C(community.general.redis) with C(command=flush), as the redis role runs it.
"""

EXAMPLES = r"""
- name: Count the sessions the runbook lists with KEYS "session:*"
  appops.runbooks.redis_keys_info:
    host: 127.0.0.1
    port: 6380
    db: 2
    pattern: "session:*"
  register: cache
"""

RETURN = r"""
db_keys:
  description: Keys in O(db) (C(DBSIZE)).
  returned: always
  type: int
all_keys:
  description: Keys in every database of the server (C(INFO keyspace)).
  returned: always
  type: int
matching:
  description: Keys of O(db) matching O(pattern) (0 without a pattern).
  returned: always
  type: int
"""

import traceback
import typing as t

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import redis
except ImportError:  # pragma: no cover - reported by the module
    redis = None
    REDIS_IMPORT_ERROR: str | None = traceback.format_exc()
else:
    REDIS_IMPORT_ERROR = None


def count_matching(client: t.Any, pattern: str, scan_count: int) -> int:
    """SCAN in steps: the server answers other clients between two calls, unlike KEYS."""
    return sum(1 for _key in client.scan_iter(match=pattern, count=scan_count))


def keyspace_total(info: dict[str, t.Any]) -> int:
    return sum(int(value.get("keys", 0)) for name, value in info.items()
               if name.startswith("db") and isinstance(value, dict))


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", default="127.0.0.1"),
            port=dict(type="int", default=6379),
            user=dict(type="str"),
            password=dict(type="str", no_log=True),
            tls=dict(type="bool", default=False),
            validate_certs=dict(type="bool", default=True),
            db=dict(type="int", default=0),
            pattern=dict(type="str"),
            scan_count=dict(type="int", default=500),
        ),
        supports_check_mode=True,
    )
    if redis is None:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMPORT_ERROR)
    params = module.params
    client = redis.Redis(host=params["host"], port=params["port"], db=params["db"], username=params["user"],
                         password=params["password"], ssl=params["tls"],
                         ssl_cert_reqs="required" if params["validate_certs"] else "none",
                         socket_timeout=10, socket_connect_timeout=5)
    try:
        db_keys = int(client.dbsize())
        all_keys = keyspace_total(client.info("keyspace"))
        matching = count_matching(client, params["pattern"], params["scan_count"]) if params["pattern"] else 0
    except redis.RedisError as error:
        module.fail_json(msg=f"Redis at {params['host']}:{params['port']} db {params['db']}: {error}")
    finally:
        client.close()
    module.exit_json(changed=False, db_keys=db_keys, all_keys=all_keys, matching=matching)


if __name__ == "__main__":
    main()
