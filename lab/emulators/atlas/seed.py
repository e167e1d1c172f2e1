"""Seed documents of the emulated clusters, shaped after the runbooks' collections.

micmap-api (runbook 000): ``micmap.mics`` (open mics by day; ``/api/v1/mics`` counts them, the
``{day: 1}`` index is what ``npm run seed`` creates) and ``micmap.venues``. fixzit (runbook 004):
``fixzit.organizations``, ``users``, ``workOrders`` (with the ``{organizationId, status}`` index)
and ``auditLogs``. Deterministic, so counts are known: 60 mics, 12 venues; 4 organizations,
40 users, 200 work orders, 300 audit log entries.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .data import client_for, wipe_cluster

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
BOROUGHS = ("Manhattan", "Brooklyn", "Queens", "Bronx", "Staten Island")
BASE = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
COUNTS = {"micmap": {"micmap.mics": 60, "micmap.venues": 12},
          "fixzit": {"fixzit.organizations": 4, "fixzit.users": 40, "fixzit.workOrders": 200, "fixzit.auditLogs": 300}}


def micmap_documents() -> dict[str, list[dict[str, Any]]]:
    venues = [{"_id": f"venue-{i:02d}", "name": f"Venue {i}", "borough": BOROUGHS[i % len(BOROUGHS)]}
              for i in range(12)]
    mics = [{"name": f"Open Mic {i}", "venueId": venues[i % 12]["_id"], "day": DAYS[i % 7],
             "time": f"{18 + i % 5}:00", "borough": BOROUGHS[i % len(BOROUGHS)], "cost": "free" if i % 3 else "$5",
             "signupType": "list" if i % 2 else "lottery", "active": True,
             "createdAt": BASE + dt.timedelta(days=i)} for i in range(60)]
    return {"mics": mics, "venues": venues}


def fixzit_documents() -> dict[str, list[dict[str, Any]]]:
    organizations = [{"_id": f"org-{i}", "name": f"Organization {i}", "plan": ("basic", "pro")[i % 2]} for i in range(4)]
    users = [{"email": f"user{i}@fixzit.lab", "organizationId": f"org-{i % 4}",
              "role": ("admin", "technician", "manager")[i % 3], "createdAt": BASE + dt.timedelta(days=i)}
             for i in range(40)]
    statuses = ("open", "in_progress", "closed")
    work_orders = [{"number": i + 1, "organizationId": f"org-{i % 4}", "status": statuses[i % 3],
                    "priority": ("low", "medium", "high")[i % 3], "title": f"Work order {i + 1}",
                    "createdAt": BASE + dt.timedelta(hours=6 * i),
                    "closedAt": BASE + dt.timedelta(hours=6 * i + 48) if i % 3 == 2 else None} for i in range(200)]
    audit_logs = [{"action": ("create", "update", "close")[i % 3], "organizationId": f"org-{i % 4}",
                   "workOrderNumber": i % 200 + 1, "createdAt": BASE - dt.timedelta(days=900) + dt.timedelta(days=3 * i)}
                  for i in range(300)]
    return {"organizations": organizations, "users": users, "workOrders": work_orders, "auditLogs": audit_logs}


SEEDS = {"micmap": ("micmap", micmap_documents, [("mics", [("day", 1)], "day_1")]),
         "fixzit": ("fixzit", fixzit_documents,
                    [("workOrders", [("organizationId", 1), ("status", 1)], "organizationId_1_status_1")])}


def seed_cluster(port: int, app: str) -> None:
    """Replace the cluster's documents with the app's seed."""
    database, documents, indexes = SEEDS[app]
    with client_for(port) as client:
        wipe_cluster(client)
        for collection, rows in documents().items():
            client[database][collection].insert_many(rows)
        for collection, keys, name in indexes:
            client[database][collection].create_index(keys, name=name)
