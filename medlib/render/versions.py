"""Published versions of a pack, and the stable ``latest`` link to the newest complete one.

A pack folder is rendered in place (reports are swapped in one at a time, see
:mod:`medlib.render.publish`). When a render leaves the pack complete and different from the
last version, the folder is kept as a version, ``versions/<period end>_<time>/``, and the
link ``latest`` is moved to it in one rename. A lead who opens ``latest/index.html`` always
sees a complete pack: while a re-render runs, ``latest`` still points at the previous one.

A version is made of hard links to the pack's files, so it costs no space for what did not
change; the renderer only ever replaces a file by renaming a new one over it, never writes
into one, so a version's files never change after it is made. Where hard links are not
possible (another file system), files are copied. The newest :data:`KEEP_VERSIONS` versions are
kept.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "KEEP_VERSIONS",
    "LATEST_LINK",
    "VERSIONS_FOLDER",
    "latest_version",
    "previous_version",
    "publish_version",
]

VERSIONS_FOLDER = "versions"
LATEST_LINK = "latest"
#: Versions kept; older ones are removed when a new one is published.
KEEP_VERSIONS = 6
#: What a version does not take from the pack folder.
_LEFT_OUT = {VERSIONS_FOLDER, LATEST_LINK, ".staging"}


def latest_version(out_dir: Path) -> Path | None:
    """The newest complete version of the pack (where ``latest`` points), or None."""
    link = Path(out_dir) / LATEST_LINK
    if not link.is_symlink():
        return None
    target = link.resolve()
    return target if (target / "manifest.json").is_file() else None


def previous_version(out_dir: Path) -> Path | None:
    """The version the pack now in ``out_dir`` should be compared with.

    That is ``latest``, unless ``latest`` shows exactly what the pack shows (a ``--resume``
    that changed nothing), in which case it is the version before it.
    """
    latest = latest_version(out_dir)
    if latest is None or _content_key(latest) != _content_key(Path(out_dir)):
        return latest
    folder = Path(out_dir) / VERSIONS_FOLDER
    older = sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".") and p != latest),
        key=lambda p: p.stat().st_mtime,
    )
    return older[-1] if older else None


def _content_key(folder: Path) -> str:
    """What a pack shows: its period and every report's files and their hashes."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    reports = {k: v.get("files", {}) for k, v in sorted(manifest.get("reports", {}).items())}
    period = manifest.get("parameter_set", {}).get("period_end")
    return json.dumps({"period_end": period, "reports": reports}, sort_keys=True)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def publish_version(out_dir: Path, period_end: str) -> Path | None:
    """Keep the (complete) pack as a version and point ``latest`` at it.

    Nothing is made when the pack shows exactly what the latest version shows (a
    ``--resume`` that changed nothing).

    Args:
        out_dir: The pack folder.
        period_end: The pack's period end, for the version's name.

    Returns:
        The new version's folder, or None when nothing changed.
    """
    out_dir = Path(out_dir)
    previous = latest_version(out_dir)
    if previous is not None and _content_key(previous) == _content_key(out_dir):
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    versions = out_dir / VERSIONS_FOLDER
    name = f"{period_end}_{stamp}"
    building = versions / f".{name}.{uuid.uuid4().hex[:8]}.building"
    building.mkdir(parents=True)
    for path in sorted(out_dir.rglob("*")):
        rel = path.relative_to(out_dir)
        if rel.parts[0] in _LEFT_OUT or any(p.startswith(".") for p in rel.parts):
            continue
        target = building / rel
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        elif path.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(path, target)
    final = versions / name
    if final.exists():  # two versions in one second: keep both
        final = versions / f"{name}_{uuid.uuid4().hex[:4]}"
    os.rename(building, final)
    staged = out_dir / f".{LATEST_LINK}.{uuid.uuid4().hex[:8]}"
    os.symlink(Path(VERSIONS_FOLDER) / final.name, staged)
    os.replace(staged, out_dir / LATEST_LINK)
    _prune(versions, keep=final)
    return final


def _prune(versions: Path, keep: Path) -> None:
    done = sorted(
        (p for p in versions.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    for old in done[:-KEEP_VERSIONS]:
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)
    for stray in versions.glob(".*.building"):
        shutil.rmtree(stray, ignore_errors=True)
