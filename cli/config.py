"""The configuration file: `[tool.feed2md]` in pyproject.toml, or a feed2md.toml.

Found from the working directory upward (the nearest wins; a folder's feed2md.toml before its
pyproject.toml; the search stops at a repository's root, the folder holding `.git`). It takes
the command line's own option names, for every command at the top level or for one command in
a sub-table, and the command line overrides it:

    [tool.feed2md]          # or, in feed2md.toml, the top level
    rules = "site-rules.toml"
    companies = "list"

    [tool.feed2md.batch]
    jobs = 4
    exclude = ["drafts/**"]

Paths are relative to the file that names them. What it holds becomes Click's `default_map`,
so a value is parsed and checked exactly as the same flag would be.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

CONFIG_NAMES = ("feed2md.toml", "pyproject.toml")
_MARKER = b"[tool.feed2md"  # a pyproject.toml without it is not read (start-up time)


class ConfigError(Exception):
    """A configuration file that cannot be used: one line naming the file and the cause."""


def find_config(start: Path) -> Path | None:
    """The configuration file that applies in `start`, or None."""
    folder = os.path.abspath(start)
    while True:
        for name in CONFIG_NAMES:
            path = os.path.join(folder, name)
            if name == "feed2md.toml" and os.path.isfile(path):
                return Path(path)
            if name == "pyproject.toml" and os.path.isfile(path) and _mentions_feed2md(path):
                return Path(path)
        if os.path.exists(os.path.join(folder, ".git")):
            return None
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _mentions_feed2md(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return _MARKER in handle.read()
    except OSError:
        return False


def load_config(path: Path) -> dict[str, Any]:
    """The feed2md table of a configuration file ({} when a pyproject.toml has none)."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("feed2md", {})
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: [tool.feed2md] must be a table")
    return data


def default_map(config: dict[str, Any], path: Path, commands: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Click's default_map for `commands` (name -> click.Command) from a loaded configuration.

    A top-level key applies to every command that has that option; a sub-table to one
    command. A key that no command knows is an error (a typo must not pass silently).
    """
    top = {k: v for k, v in config.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in config.items() if isinstance(v, dict)}
    for name in tables:
        if name not in commands:
            raise ConfigError(f"{path}: [{name}]: no such command (commands: {', '.join(sorted(commands))})")
    result: dict[str, dict[str, Any]] = {}
    known: set[str] = set()
    for name, command in commands.items():
        options = _options_of(command)
        known.update(options)
        values: dict[str, Any] = {}
        for key, value in [*top.items(), *tables.get(name, {}).items()]:
            option = options.get(key.replace("_", "-"))
            if option is None:
                if key in tables.get(name, {}):
                    raise ConfigError(f"{path}: [{name}] {key}: `feed2md {name}` has no such option")
                continue
            values[option.name] = _resolve(value, option, path.parent)
        if values:
            result[name] = values
    unknown = [k for k in top if k.replace("_", "-") not in known]
    if unknown:
        raise ConfigError(f"{path}: {unknown[0]}: no feed2md command has such an option")
    return result


def _options_of(command: Any) -> dict[str, Any]:
    """A command's options by their long name without dashes (`--max-size` -> `max-size`)."""
    options = {}
    for param in command.params:
        for flag in getattr(param, "opts", ()):
            if flag.startswith("--") and param.param_type_name == "option":
                options[flag[2:]] = param
    return options


def _resolve(value: Any, option: Any, base: Path) -> Any:
    """Paths relative to the configuration file's folder; lists for repeatable options."""
    if option.multiple and not isinstance(value, list):
        value = [value]
    if _is_path(option):
        if isinstance(value, list):
            return [str(base / v) if isinstance(v, str) and v != "-" else v for v in value]
        if isinstance(value, str) and value != "-":
            return str(base / value)
    return value


def _is_path(option: Any) -> bool:
    return type(option.type).__name__ in ("Path", "TyperPath")
