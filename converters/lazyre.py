"""Regular expressions compiled on first use.

`feed2md convert FILE` is a short process. Compiling every pattern of every module at import
would cost more than converting a typical article, which needs only some of them; so the
library's module-level patterns are declared with `lazy_compile` and compiled when first used.
"""

from __future__ import annotations

import re
from typing import Any


class LazyPattern:
    """Stands for `re.compile(pattern, flags)`; compiles on the first attribute used."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # Reached only for names not cached yet: compile once, then keep each bound method
        # on the instance, so that later calls cost an ordinary attribute look-up.
        compiled = self.__dict__.get("_compiled")
        if compiled is None:
            compiled = self.__dict__["_compiled"] = re.compile(*self._source)
        value = getattr(compiled, name)
        setattr(self, name, value)
        return value

    def __repr__(self) -> str:
        return f"lazy_compile({self._source[0]!r}, {self._source[1]!r})"


def lazy_compile(pattern: str, flags: int = 0) -> LazyPattern:
    """`re.compile`, deferred until the pattern is first used."""
    return LazyPattern(pattern, flags)
