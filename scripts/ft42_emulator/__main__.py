"""``python -m scripts.ft42_emulator``: the command line, see ``cli.main``."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
