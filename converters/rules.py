"""Site rules: which markup is noise on which site, loaded from TOML data.

This module owns the *data model* of site-specific cleaning. The rules themselves live in
`rules.toml` beside it (and in user files passed with `--rules`); nothing here knows about
any particular site. Adding a site is adding a `[[site]]` entry.
"""

from __future__ import annotations

import fnmatch
import sys
from pathlib import Path
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from .errors import ConversionError

DEFAULT_RULES_PATH = Path(__file__).with_name("rules.toml")

_LIST_FIELDS = ("names", "hosts", "drop", "unwrap", "companies", "strip_params", "keep_params", "code_chrome", "lazy_src", "source_link",
               "tracking_pixels")


REDIRECT_ENCODINGS = ("", "base64", "base64-reversed", "url-twice")


class Redirect(NamedTuple):
    """A link wrapper whose real destination is carried in one query parameter.

    `encoding` says how the parameter holds it: as written (or percent-encoded once more),
    `base64`, `base64-reversed` (the string reversed, then base64), `url-twice`. With `inner`,
    the decoded value is itself a query string and the destination is its `inner` parameter.
    """

    host: str  # this host and its subdomains
    param: str
    path: str = ""  # empty: any path on that host
    encoding: str = ""
    inner: str = ""

    def matches(self, host: str, path: str) -> bool:
        if host != self.host and not host.endswith("." + self.host):
            return False
        return not self.path or path.rstrip("/") == self.path.rstrip("/")


class SiteRule(NamedTuple):
    """One `[[site]]` entry of a rules file."""

    name: str
    always: bool = False
    names: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    unwrap: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()
    redirects: tuple[Redirect, ...] = ()
    strip_params: tuple[str, ...] = ()
    keep_params: tuple[str, ...] = ()
    code_chrome: tuple[str, ...] = ()  # class names removed from inside code blocks
    lazy_src: tuple[str, ...] = ()  # <img> attributes that hold the real picture (lazy loading)
    tracking_pixels: tuple[str, ...] = ()  # image URL globs of analytics beacons that feeds append
    source_link: tuple[str, ...] = ()  # CSS selectors of hidden links to the article's own source
    source: str = "built-in"

    def applies_to(self, labels: set[str], hosts: set[str]) -> bool:
        """True when the article's author/categories or its link hosts identify this site."""
        if self.always or labels.intersection(self.names):
            return True
        return any(h == s or h.endswith("." + s) for h in hosts for s in self.hosts)


class ActiveRules(NamedTuple):
    """The union of the site rules that apply to one article."""

    sites: tuple[str, ...]
    drop: tuple[str, ...]
    unwrap: tuple[str, ...]
    companies: tuple[str, ...]
    redirects: tuple[Redirect, ...]
    keep_params: frozenset[str]
    lazy_src: tuple[str, ...] = ()  # <img> attributes holding the real picture, in order
    tracking_pixels: tuple[str, ...] = ()  # image URL globs (lower case) of analytics beacons
    source_link: tuple[str, ...] = ()
    # The sites' strip_params sorted by kind, for `strips`, which runs for every query parameter:
    strip_names: frozenset[str] = frozenset()  # plain names
    strip_prefixes: tuple[str, ...] = ()  # "utm_*"
    strip_globs: tuple[str, ...] = ()  # any other glob

    def strips(self, param: str) -> bool:
        """True when a query parameter is tracking noise under these rules."""
        name = param.lower()
        if name in self.keep_params:
            return False
        return (
            name in self.strip_names
            or name.startswith(self.strip_prefixes)
            or any(fnmatch.fnmatchcase(name, glob) for glob in self.strip_globs)
        )


class RuleSet:
    """All known site rules, in order; later files override entries of the same name."""

    __slots__ = ("sites", "_merged", "targets")

    def __init__(self, sites: tuple[SiteRule, ...] = (), targets: dict | None = None) -> None:
        self.sites = sites
        self.targets = targets or {}  # name -> targets.Target: publishing targets a rules file defines
        # The merged rules for each combination of sites seen so far: articles of one site share it.
        self._merged: dict[tuple[SiteRule, ...], ActiveRules] = {}

    def __repr__(self) -> str:
        return f"RuleSet(sites={self.sites!r}, targets={self.targets!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RuleSet) and self.sites == other.sites and self.targets == other.targets

    __hash__ = None  # type: ignore[assignment]  # equal by value, yet it holds a cache

    def select(self, labels: Iterable[str], hosts: Iterable[str]) -> ActiveRules:
        label_set = {str(label).strip() for label in labels}
        host_set = set(hosts)
        chosen = tuple(s for s in self.sites if s.applies_to(label_set, host_set))
        active = self._merged.get(chosen)
        if active is None:
            active = self._merged[chosen] = _merge(chosen)
        return active

    def code_chrome(self) -> tuple[str, ...]:
        """The class names removed from inside code blocks: every entry's, since code is
        taken out of the HTML before the article's site is known."""
        return tuple(dict.fromkeys(name for site in self.sites for name in site.code_chrome))

    def merged_with(self, other: RuleSet) -> RuleSet:
        """This rule set with `other`'s entries added; same-named entries are replaced."""
        by_name = {s.name: s for s in self.sites}
        for site in other.sites:
            by_name[site.name] = site
        return RuleSet(tuple(by_name.values()), {**self.targets, **other.targets})


def _merge(chosen: tuple[SiteRule, ...]) -> ActiveRules:
    def union(attr: str) -> tuple:
        seen: dict = {}
        for site in chosen:
            for item in getattr(site, attr):
                seen.setdefault(item, None)
        return tuple(seen)

    names, prefixes, globs = set(), [], []
    for pattern in union("strip_params"):
        if not _is_glob(pattern):
            names.add(pattern)
        elif pattern.endswith("*") and not _is_glob(pattern[:-1]):
            prefixes.append(pattern[:-1])
        else:
            globs.append(pattern)
    return ActiveRules(
        sites=tuple(s.name for s in chosen),
        drop=union("drop"),
        unwrap=union("unwrap"),
        companies=union("companies"),
        redirects=union("redirects"),
        keep_params=frozenset(union("keep_params")),
        lazy_src=union("lazy_src"),
        tracking_pixels=tuple(g.lower() for g in union("tracking_pixels")),
        source_link=union("source_link"),
        strip_names=frozenset(names),
        strip_prefixes=tuple(prefixes),
        strip_globs=tuple(globs),
    )


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


_SELECTOR_FIELDS = ("drop", "unwrap", "companies", "source_link")
_NAME_FIELDS = {"lazy_src": "an attribute name", "code_chrome": "a class name"}


def _check_site(rule: SiteRule) -> None:
    """Every value of a rule checked once, when the file is read: a bad selector, host or
    name fails with one line naming the rule, the key and the value, not file by file later."""
    import re

    from selectolax.lexbor import LexborHTMLParser

    where = f"{rule.source}: site {rule.name!r}"
    probe = LexborHTMLParser("<p></p>")
    for key in _SELECTOR_FIELDS:
        for selector in getattr(rule, key):
            try:
                probe.css(selector)
            except Exception:  # selectolax raises SelectolaxError (or ValueError in older releases)
                raise ConversionError(f"{where}: {key}: {selector!r} is not a valid CSS selector") from None
    name = re.compile(r"[A-Za-z_:][-\w:.]*\Z")
    for key, what in _NAME_FIELDS.items():
        for value in getattr(rule, key):
            if not name.match(value):
                raise ConversionError(f"{where}: {key}: {value!r} is not {what}")
    host = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\Z")
    for value in (*rule.hosts, *(r.host for r in rule.redirects)):
        try:
            ascii_form = value if value.isascii() else value.encode("idna").decode("ascii")  # 例え.jp
        except UnicodeError:
            ascii_form = ""
        if not host.match(ascii_form):
            raise ConversionError(f"{where}: {value!r} is not a host name (no scheme, path or port: 'example.com')")
    for key in ("strip_params", "keep_params", "names"):
        for value in getattr(rule, key):
            if not value.strip():
                raise ConversionError(f"{where}: {key}: an empty value")
    for redirect in rule.redirects:
        if not redirect.param.strip():
            raise ConversionError(f"{where}: redirect for {redirect.host!r}: param is empty")
        if redirect.path and not redirect.path.startswith("/"):
            raise ConversionError(f"{where}: redirect for {redirect.host!r}: path {redirect.path!r} must start with '/'")


def _site_from_table(table: Mapping[str, Any], source: str) -> SiteRule:
    if not isinstance(table.get("name"), str) or not table["name"].strip():
        raise ConversionError(f"{source}: every [[site]] needs a name")
    unknown = set(table) - {"name", "always", "redirects", *_LIST_FIELDS}
    if unknown:
        raise ConversionError(f"{source}: site {table['name']!r} has unknown keys: {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {"name": table["name"].strip(), "always": bool(table.get("always", False))}
    for key in _LIST_FIELDS:
        items = table.get(key, [])
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ConversionError(f"{source}: site {values['name']!r}: {key} must be a list of strings")
        values[key] = tuple(i.lower() if key in ("hosts", "strip_params", "keep_params") else i for i in items)
    redirects = []
    for entry in table.get("redirects", []):
        if not isinstance(entry, dict) or not {"host", "param"} <= set(entry):
            raise ConversionError(f"{source}: site {values['name']!r}: each redirect needs host and param")
        unknown = set(entry) - set(Redirect._fields)
        if unknown:
            raise ConversionError(f"{source}: site {values['name']!r}: redirect has unknown keys: {', '.join(sorted(unknown))}")
        if not all(isinstance(v, str) for v in entry.values()):
            raise ConversionError(f"{source}: site {values['name']!r}: redirect values must be strings")
        if entry.get("encoding", "") not in REDIRECT_ENCODINGS:
            raise ConversionError(
                f"{source}: site {values['name']!r}: redirect encoding {entry['encoding']!r} is not one of "
                + ", ".join(repr(e) for e in REDIRECT_ENCODINGS if e)
            )
        redirects.append(Redirect(**{**entry, "host": entry["host"].lower()}))
    values["redirects"] = tuple(redirects)
    return SiteRule(source=source, **values)


def read_toml(text: str) -> dict[str, Any]:
    """TOML text to a dict (tomllib, or tomli before Python 3.11), loaded on first use.
    Raises ValueError (tomllib's TOMLDecodeError) for invalid TOML. Rules files use it, and
    TOML front matter (metadata.py)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    return tomllib.loads(text)


def parse_rules(text: str, source: str = "<rules>", check: bool = True) -> RuleSet:
    """Parse the TOML text of a rules file into a RuleSet, every value checked (see
    _check_site; the built-in rules skip it at start-up, and a test checks them)."""
    try:
        data = read_toml(text)
    except ValueError as exc:
        raise ConversionError(f"{source}: not valid TOML ({exc})") from None
    sites = data.get("site", [])
    if not isinstance(sites, list):
        raise ConversionError(f"{source}: expected [[site]] tables")
    unknown = set(data) - {"site", "target"}
    if unknown:
        raise ConversionError(f"{source}: unknown tables: {', '.join(sorted(unknown))} (expected [[site]] and [target.NAME])")
    targets = {}
    if "target" in data:
        from .targets import parse_targets

        targets = parse_targets(data, source)
    rules = RuleSet(tuple(_site_from_table(t, source) for t in sites), targets)
    if check:
        for rule in rules.sites:
            _check_site(rule)
    return rules


_default: RuleSet | None = None


def default_rules() -> RuleSet:
    """The built-in rules shipped in rules.toml (parsed once per process)."""
    global _default
    if _default is None:
        _default = parse_rules(DEFAULT_RULES_PATH.read_text("utf-8"), source="built-in", check=False)
    return _default
