"""`python -m feed2md`: the same command as the `feed2md` script.

This folder is installed as the `feed2md` package itself (see pyproject.toml): it holds only
this entry point, `feed2md.cli` and `feed2md.converters` being mapped from the top-level
`cli/` and `converters/` folders.
"""

from feed2md.cli.main import run

run()
