"""Owner-only files: the run log, dlt's load packages (Parquet with every student's personal data)
and the export are nobody else's business on a shared machine.

Each entry point calls `keep_private()` first. From then on whatever the process and its children
(dbt) create is 0600, directories 0700; and the places that already hold such data lose any
group/other read or write bit. Directories keep their execute bits: when we are root the embedded
PostgreSQL runs as another OS user and must traverse .data/ to reach its data directory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from .run_log import KEEP as LOG_ROTATIONS
from .settings import PROJECT_ROOT, read_environment, read_setting

PRIVATE_UMASK = 0o077
# Only this project writes under these, so they are tightened whole.
CHECKOUT_DIRS = (".data", "logs", "exports")


def _tighten(path: Path) -> bool:
    """Drop group/other read and write from path if it is ours; True if it is a directory to descend."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.geteuid():
        return False  # not ours to change, e.g. the embedded server's data directory when we are root
    is_dir = stat.S_ISDIR(info.st_mode)
    mode = stat.S_IMODE(info.st_mode)
    private = mode & ~(0o066 if is_dir else 0o077)
    if private != mode:
        try:
            os.chmod(path, private)
        except FileNotFoundError:
            return False  # removed meanwhile, e.g. by a dbt run tidying its target
    return is_dir


def _tighten_tree(root: Path, skip: Path) -> None:
    if root == skip or not _tighten(root):
        return
    try:
        children = list(root.iterdir())
    except FileNotFoundError:
        return
    for child in children:
        _tighten_tree(child, skip)


def _inside(path: Path, directory: Path) -> bool:
    return path.resolve().is_relative_to(directory.resolve())


def keep_private(env: Mapping[str, str] | None = None, project_root: Path = PROJECT_ROOT) -> None:
    os.umask(PRIVATE_UMASK)
    env = read_environment() if env is None else env
    # The server keeps its own data directory 0700 and writes there while it runs: left alone.
    embedded_dir = read_setting(env, "EMBEDDED_DB_DIR")
    checkout_dirs = [project_root / name for name in CHECKOUT_DIRS]
    for directory in checkout_dirs:
        _tighten_tree(directory, skip=embedded_dir)
    # Configured elsewhere: the places themselves, not what else may share their parent. A shared
    # directory such as /tmp (sticky) is not ours to close.
    log_file = read_setting(env, "SYNC_LOG_FILE")
    elsewhere = [read_setting(env, "EXPORT_DIR"), read_setting(env, "DLT_DATA_DIR"), log_file,
                 *(log_file.with_name(f"{log_file.name}.{n}") for n in range(1, LOG_ROTATIONS + 1))]
    for path in elsewhere:
        if any(_inside(path, directory) for directory in checkout_dirs):
            continue
        if path.is_dir() and path.stat().st_mode & stat.S_ISVTX:
            continue
        _tighten(path)
