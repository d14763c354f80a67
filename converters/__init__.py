"""feed2md's library: one scraped article in, one normalised Markdown file out.

    from feed2md.converters import convert
    result = convert(text)          # or convert_bytes(data) for raw file contents
    result.text                     # the normalised file (front matter + Markdown)
    result.report.changes           # what was changed or dropped, one note each

The pipeline, one module per step: article (split the file) or feeds (a feed's entries) ->
metadata (front matter) -> code (take code out of the raw HTML) -> clean (site rules, one
selectolax parse) -> markdown (html2text and post-passes) -> targets (the publisher's front
matter and template protection). assets finds and rewrites an article's pictures. No file
I/O, no network, no printing: callers own all three.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"  # the one place the version is written (pyproject.toml reads it)

# Names are imported on first use (PEP 562), so that `import feed2md.converters` and the
# light names (options, rules, errors) do not pay for html2text, selectolax and PyYAML.
_LAZY = {
    "convert": "pipeline", "convert_bytes": "pipeline", "convert_article": "pipeline", "Conversion": "pipeline", "Report": "pipeline",
    "decode": "article", "CompanyLinks": "options", "Options": "options", "ConversionError": "errors",
    "RuleSet": "rules", "default_rules": "rules", "parse_rules": "rules",
}
__all__ = sorted(_LAZY)

if TYPE_CHECKING:
    from .article import decode
    from .pipeline import Conversion, Report, convert, convert_article, convert_bytes
    from .errors import ConversionError
    from .options import CompanyLinks, Options
    from .rules import RuleSet, default_rules, parse_rules


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
