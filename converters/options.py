"""Conversion options: what a caller may choose (company links, site rules).

Kept apart from the converter so that the command line can build options without
importing the HTML machinery (start-up time).
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

from .rules import DEFAULT_RULES_PATH, RuleSet


class CompanyLinks(str, Enum):
    """What to do with tracked company links (36kr `a.project-link`)."""

    TEXT = "text"  # replace the anchor by its text (default)
    LIST = "list"  # text, and list the companies under the front-matter key `companies`
    LINK = "link"  # keep an ordinary link, without tracking attributes or parameters


DEFAULT_MAX_SIZE = 64 * 1024 * 1024  # bytes; larger files fail at once (memory grows with size)


class Options(NamedTuple):
    """How to convert. The defaults are what most users want."""

    company_links: CompanyLinks = CompanyLinks.TEXT
    rules: RuleSet | None = None  # None: the built-in rules
    keep_proxies: bool = False  # leave proxied image and link addresses as written
    max_size: int = DEFAULT_MAX_SIZE  # bytes (characters, for text); 0: no limit
    keep_source: bool = True  # keep the decoded input as Conversion.source (for verify)
    target: str = "gfm"  # the publishing target (targets.toml, or a rules file's [target.NAME])

    def target_profile(self):
        """The publishing target's profile (targets.Target): a rules file's, else a built-in one.
        Raises ConversionError for a target no one defines."""
        from .targets import get_target

        return get_target(self.target, self.rules.targets if self.rules is not None else None)

    def fingerprint(self) -> str:
        """A stable string that changes whenever the options would change the output.

        With the built-in rules, the rules file's text stands for them: an unchanged batch
        re-run then never parses TOML.
        """
        if self.rules is None:
            rules = "built-in:" + DEFAULT_RULES_PATH.read_text("utf-8")
        else:
            rules = repr(self.rules)
        target = "" if self.target == "gfm" else f"|target={self.target}:" + _targets_text()
        return f"{self.company_links.value}|{int(self.keep_proxies)}|{rules}{target}"


def _targets_text() -> str:
    from .targets import TARGETS_PATH

    return TARGETS_PATH.read_text("utf-8")
