"""Install, remove or show the crontab line that runs `make sync` for this checkout.

    python -m pipelines.cron install EVERY_HOURS   # e.g. 6 -> `0 */6 * * *`
    python -m pipelines.cron remove
    python -m pipelines.cron show

The line ends with the comment `# ft42-sync /abs/checkout` (cron hands it to /bin/sh, which ignores
it): installing again replaces the line, and other checkouts' and other programs' lines stay as
they are. Overlapping runs are safe without flock: the sync takes a PostgreSQL advisory lock and
exits 75 without changing anything when another sync holds it, so a slow run just skips a turn.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

from .settings import PROJECT_ROOT

MARKER = f"# ft42-sync {PROJECT_ROOT}"


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


def cron_line(every_hours: int, make: str) -> str:
    root = str(PROJECT_ROOT)
    # cron turns a bare % into a newline, and a newline would end the line: refuse rather than escape.
    if "%" in root or "\n" in root:
        raise CronError(f"the checkout path {root!r} contains % or a newline, which crontab cannot hold")
    log = shlex.quote(str(PROJECT_ROOT / "logs" / "cron.log"))
    return (f"{schedule(every_hours)} cd {shlex.quote(root)} && {shlex.quote(make)} -s sync "
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


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    usage = "usage: python -m pipelines.cron install EVERY_HOURS | remove | show"
    try:
        if argv[:1] == ["install"] and len(argv) == 2:
            try:
                every = int(argv[1])
            except ValueError:
                raise CronError(f"EVERY must be a whole number of hours, got {argv[1]!r}") from None
            schedule(every)  # a wrong EVERY is reported first, whatever else is missing
            _crontab()
            make = shutil.which("make")
            if make is None:
                raise CronError("make not found: install make")
            line = cron_line(every, make)
            others = [existing for existing in read_crontab() if not is_ours(existing)]
            (PROJECT_ROOT / "logs").mkdir(exist_ok=True)  # sh cannot append to a log in a missing dir
            write_crontab(others + [line])
            print(f"installed: {line}")
            if not (PROJECT_ROOT / ".env").exists():
                print(f"warning: cron does not see your shell's variables and {PROJECT_ROOT / '.env'} "
                      "does not exist: the sync will lack its settings", file=sys.stderr)
        elif argv == ["remove"]:
            lines = read_crontab()
            kept = [existing for existing in lines if not is_ours(existing)]
            if len(kept) == len(lines):
                print(f"no ft42 sync line for {PROJECT_ROOT} in the crontab: nothing to remove")
            else:
                write_crontab(kept)
                print(f"removed the ft42 sync line for {PROJECT_ROOT}")
        elif argv == ["show"]:
            ours = [existing for existing in read_crontab() if is_ours(existing)]
            print("\n".join(ours) if ours else f"no ft42 sync line for {PROJECT_ROOT} in the crontab")
        else:
            print(usage, file=sys.stderr)
            return 2
    except CronError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
