"""The command line's pure parts, the lock file against the direct pins, imports that change nothing.
No network, no database."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines import cli, run
from pipelines.settings import ConfigError, read_setting

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def direct_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith("-r "):
            pins.update(direct_pins(path.parent / line[3:].strip()))
        elif line:
            match = PIN.match(line)
            assert match, f"{path.name}: {line!r} is not pinned with =="
            pins[canonical(match[1])] = match[3]
    return pins


def locked_pins(path: Path) -> dict[str, str]:
    return {canonical(m[1]): m[3] for m in map(PIN.match, path.read_text().splitlines()) if m}


def test_the_lock_pins_every_direct_requirement_at_the_same_version():
    direct, locked = direct_pins(ROOT / "requirements-dev.txt"), locked_pins(ROOT / "requirements.lock")
    disagree = {name: (version, locked.get(name)) for name, version in direct.items() if locked.get(name) != version}
    assert disagree == {}, "requirements.lock is stale: run `make lock` (name: (direct pin, locked pin))"
    assert {"dlt", "dbt-core", "pip-tools", "requests"} <= set(direct)


def test_every_locked_package_is_pinned_and_hashed():
    lock = (ROOT / "requirements.lock").read_text()
    entries = re.split(r"\n(?=[A-Za-z])", lock.split("\n", 1)[1])
    packages = [entry for entry in entries if not entry.startswith("#")]
    assert len(packages) == len(locked_pins(ROOT / "requirements.lock")) > 50
    assert [entry.split()[0] for entry in packages if "--hash=sha256:" not in entry] == []


def test_importing_every_module_changes_no_environment_variable():
    script = """
import importlib, os, pkgutil, sys
import pipelines
before = dict(os.environ)
names = [m.name for m in pkgutil.walk_packages(pipelines.__path__, "pipelines.")]
for name in names:
    importlib.import_module(name)
pipelines.run_sync  # the lazy attribute imports the whole sync
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(len(names), changed)
"""
    # A minimal environment: one inherited from this process could already hold what a module sets.
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG") if key in os.environ}
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    count, changed = result.stdout.split(" ", 1)
    assert int(count) > 15 and changed.strip() == "[]"


def test_full_flag_overrides_only_when_given():
    parser = cli.build_parser()
    assert parser.parse_args(["sync"]).full is False  # -> run_sync(full=None): the FULL setting decides
    assert parser.parse_args(["sync", "--full"]).full is True
    assert parser.parse_args(["sync", "--tables", "users"]).tables == ["users"]


def test_the_readme_lists_the_exit_codes_the_sync_returns():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| code | meaning |"):].split("\n\n", 1)[0]
    codes = [int(row.split("|")[1]) for row in table.splitlines()[2:]]
    assert codes == [run.EXIT_OK, run.EXIT_FAILED, run.EXIT_ALREADY_RUNNING,
                     128 + signal.SIGTERM, 128 + signal.SIGINT]


@pytest.mark.parametrize("key", ["ALERT_WEBHOOK_URL", "HEALTHCHECK_URL"])
def test_alert_urls_are_optional_http_urls_never_echoed(key):
    assert read_setting({}, key) is None
    assert read_setting({key: "https://hooks.example.org/T0K3N"}, key) == "https://hooks.example.org/T0K3N"
    with pytest.raises(ConfigError) as refused:
        read_setting({key: "hooks.example.org/T0K3N"}, key)
    assert "T0K3N" not in str(refused.value) and key in str(refused.value)
