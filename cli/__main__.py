"""`python -m feed2md.cli` runs the same command as the `feed2md` script."""

from .main import run

run()
