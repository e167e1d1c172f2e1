# Copyright (c) appops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Vercel deployments: what a deployment was built from, its state, waiting, the build log (private)."""

from __future__ import annotations

import hashlib
import json
import typing as t

from .._http import wait_for
from .client import VercelClient

FINAL_STATES = ("READY", "ERROR", "CANCELED")
# The first status check of a wait comes this soon, the next ones twice as late each, up to
# poll_interval: an alias job or a small build is often done in a second or two.
FIRST_POLL_S = 0.5
# Meta keys this collection sets on deployments it creates, so a re-run recognises them.
FILES_DIGEST_META = "appopsFilesDigest"
# The keys Vercel sets on a redeploy (the dashboard's and the CLI's).
REDEPLOY_OF_META = "originalDeploymentId"


def deployment_id(deployment: t.Mapping[str, t.Any]) -> str:
    """The id of a deployment, whether it came from a listing (``uid``) or a GET (``id``)."""
    return str(deployment.get("id") or deployment.get("uid") or "")


def ready_state(deployment: t.Mapping[str, t.Any]) -> str:
    return str(deployment.get("readyState") or deployment.get("state") or "")


def target_of(deployment: t.Mapping[str, t.Any]) -> str:
    """``production`` or ``preview`` (Vercel leaves a preview's target null)."""
    return str(deployment.get("target") or "preview")


def is_final(deployment: t.Mapping[str, t.Any]) -> bool:
    return ready_state(deployment) in FINAL_STATES


def files_digest(files: list[dict[str, t.Any]]) -> str:
    """One digest of a file set (names, contents and encodings), independent of the list's order."""
    canonical = sorted((str(f.get("file")), str(f.get("data", "")), str(f.get("encoding") or "utf-8")) for f in files)
    return hashlib.sha256(json.dumps(canonical).encode()).hexdigest()[:40]


class Source:
    """What a deployment is built from: a git ref (and commit), a file set, or an earlier deployment."""

    def __init__(self, git: dict[str, t.Any] | None = None, files: list[dict[str, t.Any]] | None = None,
                 redeploy_of: dict[str, t.Any] | None = None) -> None:
        self.git = git
        self.files = files
        self.redeploy_of = redeploy_of
        self.digest = files_digest(files) if files else None

    def matches(self, deployment: t.Mapping[str, t.Any]) -> bool:
        """Whether ``deployment`` (a listing item or a GET answer) was built from this source."""
        meta = deployment.get("meta") or {}
        if self.redeploy_of is not None:
            return meta.get(REDEPLOY_OF_META) == deployment_id(self.redeploy_of)
        if self.files is not None:
            return meta.get(FILES_DIGEST_META) == self.digest
        git = self.git or {}
        if git.get("sha"):
            return str(meta.get("githubCommitSha") or "").startswith(str(git["sha"]))
        return bool(git.get("ref")) and meta.get("githubCommitRef") == git["ref"]

    def view(self) -> dict[str, t.Any]:
        """How diffs and results show the source: never file contents."""
        if self.redeploy_of is not None:
            return {"redeploy_of": deployment_id(self.redeploy_of)}
        if self.files is not None:
            return {"files": sorted(str(f.get("file")) for f in self.files), "files_digest": self.digest}
        return {"git_ref": (self.git or {}).get("ref"), "git_sha": (self.git or {}).get("sha")}


def source_view(deployment: t.Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
    """A deployment as diffs show it: id, URL, state, target and what it was built from."""
    if not deployment:
        return None
    meta = deployment.get("meta") or {}
    view = {"id": deployment_id(deployment), "url": deployment.get("url"), "readyState": ready_state(deployment),
            "target": target_of(deployment)}
    for name in ("githubCommitRef", "githubCommitSha", REDEPLOY_OF_META, FILES_DIGEST_META):
        if meta.get(name):
            view[name] = meta[name]
    return view


def describe(deployment: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A deployment as modules return it: the API fields with ``id``, ``readyState`` and ``target`` always set."""
    described = {key: value for key, value in deployment.items() if key not in ("build", "env", "routes")}
    described.update(id=deployment_id(deployment), readyState=ready_state(deployment), target=target_of(deployment))
    return described


def wait_until_final(client: VercelClient, ident: str, *, timeout: float, interval: float) -> dict[str, t.Any]:
    """Poll a deployment until READY, ERROR or CANCELED."""
    return wait_for(lambda: client.deployment(ident), is_final, timeout=timeout, interval=interval,
                    first_interval=FIRST_POLL_S, what=f"deployment {ident} to be READY or ERROR")


def build_log_excerpt(events: list[dict[str, t.Any]], lines: int) -> list[str]:
    """The last ``lines`` lines of a build log (deployment events), ``stderr`` lines marked."""
    texts = []
    for event in events:
        text = str(((event.get("payload") or {}).get("text")) or event.get("text") or "").rstrip()
        if not text:
            continue
        kind = event.get("type")
        texts.append(f"[{kind}] {text}" if kind in ("stderr", "exit") else text)
    return texts[-lines:] if lines > 0 else []
