"""Install, remove or show the crontab line that runs `ft42 sync` for this checkout.

    ft42 cron install EVERY_HOURS   # e.g. 6 -> `0 */6 * * *`  (or python -m pipelines.cron …)
    ft42 cron remove
    ft42 cron show

The line calls the venv's `ft42 sync` by its absolute path, not `make sync`: make reports any
failing command as its own exit code 2, and the sync's 75 (another sync holds the database)
must stay 75, apart from 1 (failed).

The line ends with the comment `# ft42-sync /abs/checkout` (cron hands it to /bin/sh, which ignores
it): installing again replaces the line, and other checkouts' and other programs' lines stay as
they are. Overlapping runs are safe without flock: the sync takes a PostgreSQL advisory lock and
exits 75 without changing anything when another sync holds it, so a slow run just skips a turn.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys

from .settings import PROJECT_ROOT

MARKER = f"# ft42-sync {PROJECT_ROOT}"
SYNC_COMMAND = PROJECT_ROOT / ".venv" / "bin" / "ft42"  # installed by scripts/bootstrap.sh
SUMMARY = "install, remove or show this checkout's crontab line running `ft42 sync`"


class CronError(Exception):
    """Something the user must fix; the message says what."""


def schedule(every_hours: int) -> str:
    """The five time fields for a run every N hours, on the hour; N must divide 24 so gaps are even."""
    if not 1 <= every_hours <= 24 or 24 % every_hours:
        raise CronError(f"EVERY={every_hours}: the hours between runs must divide a day evenly, "
                        "use 1, 2, 3, 4, 6, 8, 12 or 24")
    if every_hours == 24:
        return "0 0 * * *"
    if every_hours == 12:
        return "0 0,12 * * *"  # as the old docs wrote it
    return f"0 */{every_hours} * * *"


def installed_every_hours() -> int | None:
    """The hours between the runs this checkout's crontab line makes, None without one."""
    try:
        lines = [line for line in read_crontab() if is_ours(line)]
    except CronError:
        return None
    for line in lines:
        for every in range(1, 25):
            if 24 % every == 0 and line.startswith(schedule(every) + " "):
                return every
    return None


def cron_line(every_hours: int) -> str:
    root = str(PROJECT_ROOT)
    # cron turns a bare % into a newline, and a newline would end the line: refuse rather than escape.
    if "%" in root or "\n" in root:
        raise CronError(f"the checkout path {root!r} contains % or a newline, which crontab cannot hold")
    log = shlex.quote(str(PROJECT_ROOT / "logs" / "cron.log"))
    return (f"{schedule(every_hours)} cd {shlex.quote(root)} && {shlex.quote(str(SYNC_COMMAND))} sync "
            f">> {log} 2>&1 {MARKER}")


def _crontab() -> str:
    path = shutil.which("crontab")
    if path is None:
        raise CronError("crontab not found: install cron")
    return path


def read_crontab() -> list[str]:
    result = subprocess.run([_crontab(), "-l"], capture_output=True, text=True, check=False)
    if result.returncode == 1 and "no crontab" in result.stderr.lower():
        return []  # the user has no crontab yet: not an error
    if result.returncode:
        raise CronError(f"crontab -l failed: {result.stderr.strip()}")
    return result.stdout.splitlines()


def write_crontab(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)  # cron ignores a last line without a newline
    result = subprocess.run([_crontab(), "-"], input=text, capture_output=True, text=True, check=False)
    if result.returncode:
        raise CronError(f"crontab - failed: {result.stderr.strip()}")


def is_ours(line: str) -> bool:
    # The whole marker must end the line, so /srv/ft42 never matches /srv/ft42-old or /x/srv/ft42.
    return line.rstrip().endswith(MARKER)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = ("Install, remove or show the crontab line that runs this checkout's `ft42 sync`, "
                          "appending its output to logs/cron.log. Installing again replaces the line.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    install = actions.add_parser("install", help="install (or replace) the line",
                                 description="Install the line, replacing this checkout's earlier one.")
    install.add_argument("every", metavar="EVERY_HOURS",
                         help="hours between runs, dividing a day evenly: 1, 2, 3, 4, 6, 8, 12 or 24")
    actions.add_parser("remove", help="remove the line", description="Remove this checkout's line.")
    actions.add_parser("show", help="show the line", description="Show this checkout's line.")


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "install":
            try:
                every = int(args.every)
            except ValueError:
                raise CronError(f"EVERY must be a whole number of hours, got {args.every!r}") from None
            schedule(every)  # a wrong EVERY is reported first, whatever else is missing
            _crontab()
            line = cron_line(every)
            others = [existing for existing in read_crontab() if not is_ours(existing)]
            (PROJECT_ROOT / "logs").mkdir(exist_ok=True)  # sh cannot append to a log in a missing dir
            write_crontab(others + [line])
            print(f"installed: {line}")
            if not SYNC_COMMAND.exists():
                print(f"warning: {SYNC_COMMAND} does not exist yet: run `make cron-install` (it installs it "
                      "first) or scripts/bootstrap.sh", file=sys.stderr)
            if not (PROJECT_ROOT / ".env").exists():
                print(f"warning: cron does not see your shell's variables and {PROJECT_ROOT / '.env'} "
                      "does not exist: the sync will lack its settings", file=sys.stderr)
        elif args.action == "remove":
            lines = read_crontab()
            kept = [existing for existing in lines if not is_ours(existing)]
            if len(kept) == len(lines):
                print(f"no ft42 sync line for {PROJECT_ROOT} in the crontab: nothing to remove")
            else:
                write_crontab(kept)
                print(f"removed the ft42 sync line for {PROJECT_ROOT}")
        else:
            ours = [existing for existing in read_crontab() if is_ours(existing)]
            print("\n".join(ours) if ours else f"no ft42 sync line for {PROJECT_ROOT} in the crontab")
    except CronError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.cron")
    configure(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
