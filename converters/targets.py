"""Publishing targets: the front matter, template protection and file names each publisher
(Hexo, Hugo, Jekyll, Obsidian, or generic GFM) reads its own way.

The profiles are data (`targets.toml`); this module applies them. Everything here is pure
and idempotent: applying a target to its own output changes nothing, so converting an output
again gives the same file.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path
from typing import Any, NamedTuple

from .errors import ConversionError
from .lazyre import lazy_compile

TARGETS_PATH = Path(__file__).with_name("targets.toml")
ENGINES = ("", "liquid", "nunjucks", "hugo")
TAG_STYLES = ("", "obsidian")
NAME_FIELDS = ("path", "stem", "title", "slug", "date", "feed", "folder")


class Target(NamedTuple):
    """One `[target.NAME]` profile (see targets.toml for each field)."""

    name: str
    description: str = ""
    rename: tuple[tuple[str, str], ...] = ()
    as_list: tuple[str, ...] = ()
    defaults: tuple[tuple[str, Any], ...] = ()
    tags_from: tuple[str, ...] = ()
    tag_style: str = ""
    protect: str = ""
    file_name: str = "{path}{stem}"
    escaped_urls_as_html: bool = False  # the renderer decodes %2B and friends in Markdown addresses

    def front_matter(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The normalised metadata as this publisher reads it; keys it does not use are kept."""
        if not (self.rename or self.as_list or self.defaults or self.tags_from):
            return meta
        out: dict[str, Any] = {}
        renames = dict(self.rename)
        for key, value in meta.items():
            new = renames.get(key)
            if new is not None and new not in meta:
                key = new
            out[key] = value
        for key in self.as_list:
            if key in out and not isinstance(out[key], list):
                out[key] = [out[key]]
        if self.tags_from:
            tags: list[str] = []
            for key in self.tags_from:
                values = out.get(key) or []
                for value in values if isinstance(values, list) else [values]:
                    tag = obsidian_tag(str(value)) if self.tag_style == "obsidian" else str(value)
                    if tag and tag not in tags:
                        tags.append(tag)
            if tags:
                out["tags"] = tags
        for key, value in self.defaults:
            out.setdefault(key, value)
        # The usual keys first, under their new names (as normalise orders them): the order
        # is then the same when the output is converted again.
        from .metadata import KEY_ORDER

        first = [renames.get(k, k) for k in KEY_ORDER]
        return {**{k: out[k] for k in first if k in out}, **out}

    def original_keys(self, meta: dict[str, Any]) -> dict[str, Any]:
        """This target's front matter with the renamed keys under their usual names again (for
        verification, which compares `date`, `cover`, … with the source)."""
        out = dict(meta)
        for old, new in self.rename:
            if new in out and old not in out:
                out[old] = out.pop(new)
                if new in self.as_list and isinstance(out[old], list) and len(out[old]) == 1:
                    out[old] = out[old][0]
        return out


_OBSIDIAN_TAG_BAD = lazy_compile(r"[^\w/\-]+")


def obsidian_tag(text: str) -> str:
    """A valid Obsidian tag: letters, digits, `_`, `-` and `/` (nesting), no `#` or spaces, and
    not only digits, which Obsidian rejects (`hello world` -> `hello-world`, `2021` -> `_2021`)."""
    tag = _OBSIDIAN_TAG_BAD.sub("-", text.strip().lstrip("#")).strip("-/")
    if tag.isdigit():
        tag = "_" + tag
    return tag


# -- file names -------------------------------------------------------------------------------
_UNSAFE_NAME = lazy_compile(r'[\[\]#^|\\/:*?"<>\x00-\x1f\x7f]+')
_SLUG_DROP = lazy_compile(r"[^\w\-]+")
_FIELD = lazy_compile(r"\{(\w+)(?::([^}]*))?\}")
MAX_NAME = 120  # characters of a name made from a title (file systems allow 255 bytes)


def safe_name(text: str) -> str:
    """A name every file system and Obsidian accept: no `[ ] # ^ | \\ / :` (nor `* ? " < >`
    or control characters), no leading dot, no `..`, at most MAX_NAME characters."""
    name = " ".join(_UNSAFE_NAME.sub(" ", unicodedata.normalize("NFC", text)).split())
    name = name.replace("..", ".").lstrip(". ")
    return name[:MAX_NAME].rstrip(". ") or "untitled"


def slug(text: str) -> str:
    """A readable file-name slug: lower-case ASCII words and CJK (or any letters) kept,
    everything else one `-` (`能否"复刻"宁德时代？` -> `能否-复刻-宁德时代`)."""
    words = _SLUG_DROP.sub("-", unicodedata.normalize("NFKC", text).lower().replace("_", "-"))
    return re.sub("-{2,}", "-", words).strip("-")[:MAX_NAME].rstrip("-") or "untitled"


def check_name_template(template: str) -> None:
    """Raise ConversionError for a template with an unknown field or a bad date format."""
    for match in _FIELD.finditer(template):
        if match.group(1) not in NAME_FIELDS:
            raise ConversionError(f"name template {template!r}: unknown field {{{match.group(1)}}} "
                                  f"(fields: {', '.join('{' + f + '}' for f in NAME_FIELDS)})")
    if template.replace("{path}", "").strip() in ("", "/"):
        raise ConversionError(f"name template {template!r} names no file")


def needs_metadata(template: str) -> bool:
    return any(m.group(1) in ("title", "slug", "date") for m in _FIELD.finditer(template))


def output_name(template: str, rel: str, meta: dict[str, Any], warnings: list[str] | None = None,
                feed: str = "", listed_in: str = "") -> str:
    """The output path (posix, relative, without `.md`) for input `rel` under `template`.

    What the article says cannot climb out of the output folder: each field's value becomes
    one safe name component, never `..`, `/` or a control character. For feed entries,
    `{feed}` is the feed's title and `{folder}` the OPML folder it was listed in (one safe
    component per level), as the RSSHub scraper's Hexo archive laid them out.
    """
    folder, _, base = rel.rpartition("/")
    stem = base.rpartition(".")[0] if "." in base.lstrip(".") else base
    title = str(meta.get("title") or "").strip()

    def field(match: re.Match) -> str:
        name, fmt = match.group(1), match.group(2)
        if name == "path":
            return folder + "/" if folder else ""
        if name == "stem":
            return safe_name(stem)
        if name == "title":
            return safe_name(title or stem)
        if name == "slug":
            return slug(title or stem)
        if name == "feed":
            return safe_name(feed or "feed")
        if name == "folder":
            return "/".join(safe_name(part) for part in listed_in.split("/") if part.strip()) or "feeds"
        day = _as_date(meta.get("date") or meta.get("created"))
        if day is None:
            if warnings is not None:
                warnings.append("no date for the file name: 1970-01-01 used")
            day = dt.datetime(1970, 1, 1)
        return safe_name(day.strftime(fmt or "%Y-%m-%d"))

    return _FIELD.sub(field, template).lstrip("/")


def _as_date(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# -- template syntax shown literally ----------------------------------------------------------
_OPENERS = {"liquid": ("{{", "{%"), "nunjucks": ("{{", "{%", "{#")}
RAW, END_RAW = "{% raw %}", "{% endraw %}"
_FENCE = lazy_compile(r"^((?:[ \t]*>)*[ \t]*(?:(?:[-*+]|\d{1,9}[.)])[ \t]+)?[ \t]*)(`{3,}|~{3,})")
_HUGO_PAIRS = (("{{<", ">}}", "{{</*", "*/>}}"), ("{{%", "%}}", "{{%/*", "*/%}}"))


def protect(body: str, engine: str) -> str:
    """The Markdown body with `engine`'s template syntax made to show literally, with the least
    noise: Liquid and Nunjucks get `{% raw %}…{% endraw %}` around each line (or whole code
    block) that holds an opening `{{`, `{%` or `{#`; Hugo gets its own escape for shortcodes,
    `{{</* … */>}}`. Idempotent: what it added is recognised and not added twice."""
    if not engine or not body:
        return body
    body = unprotect(body, engine)
    if engine == "hugo":
        return _protect_hugo(body)
    openers = _OPENERS[engine]
    if not any(o in body for o in openers):
        return body
    lines = body.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE.match(line)
        if fence:
            end = _fence_end(lines, i, fence.group(2))
            block = lines[i : end + 1]
            if any(o in part for part in block for o in openers):
                prefix = _container(fence.group(1))
                out += [prefix + RAW, *block, prefix + END_RAW]
            else:
                out += block
            i = end + 1
            continue
        if any(o in line for o in openers):
            lead = len(line) - len(line.lstrip(" >"))
            out.append(line[:lead] + RAW + line[lead:] + END_RAW)
        else:
            out.append(line)
        i += 1
    return "\n".join(out)


def unprotect(body: str, engine: str) -> str:
    """What `protect` added, taken away again (the Markdown as written before protection)."""
    if engine == "hugo":
        for opener, closer, escaped_open, escaped_close in _HUGO_PAIRS:
            body = body.replace(escaped_open, opener).replace(escaped_close, closer)
        return body
    if not engine or RAW not in body:
        return body
    out = []
    for line in body.split("\n"):
        bare = line.lstrip(" >")
        lead = line[: len(line) - len(bare)]
        if bare in (RAW, END_RAW) and lead.strip(" >") == "":
            continue
        if bare.startswith(RAW) and bare.endswith(END_RAW):
            line = lead + bare[len(RAW) : len(bare) - len(END_RAW)]
        out.append(line)
    return "\n".join(out)


def _fence_end(lines: list[str], start: int, marker: str) -> int:
    for j in range(start + 1, len(lines)):
        fence = _FENCE.match(lines[j])
        if fence and fence.group(2)[0] == marker[0] and len(fence.group(2)) >= len(marker) and \
                not lines[j][fence.end():].strip():
            return j
    return len(lines) - 1


def _container(prefix: str) -> str:
    """The quote markers and indentation a fence sits in (its list marker as spaces)."""
    quote = re.match(r"(?:[ \t]*>)*[ \t]?", prefix).group(0)
    return quote + " " * (len(prefix) - len(quote))


def _protect_hugo(body: str) -> str:
    for opener, closer, escaped_open, escaped_close in _HUGO_PAIRS:
        if opener in body:
            # Only a shortcode-shaped pair is read by Hugo; escape each opener with its closer.
            body = re.sub(re.escape(opener) + r"(.*?)" + re.escape(closer),
                          lambda m: escaped_open + m.group(1) + escaped_close, body, flags=re.S)
    return body


# -- addresses a renderer would decode --------------------------------------------------------
# hexo-renderer-marked decodes the percent-escapes of Markdown link and image addresses
# (`tex=2n%2B1` is requested as `tex=2n+1`, `a%26b` splits a query), and no Markdown form
# survives it; raw HTML is passed through as written. So under such a target an image or
# link whose address escapes a reserved character is written as HTML, marked `data-feed2md`
# so that feed2md reads its own output back as Markdown (pipeline._is_html).
MARK = "data-feed2md"
_RESERVED_ESCAPE = lazy_compile(r"%(?:2[1-9A-Fa-f]|3[ABbDdFf]|40|5[BbDd])")
_MD_LINK = lazy_compile(r'(!?)\[((?:[^\[\]\\\n]|\\.)*)\]\((<[^>\n]*>|[^\s()<>]+)(?:\s+"((?:[^"\\]|\\.)*)")?\)')
_CODE_SPAN = lazy_compile(r"(`+)(?:.+?)\1")


def escaped_urls_as_html(body: str) -> str:
    """Images and links whose address holds a reserved character's percent-escape, written as
    raw HTML (outside code); every other one stays Markdown."""
    if "%" not in body:
        return body
    lines = body.split("\n")
    i = 0
    while i < len(lines):
        fence = _FENCE.match(lines[i])
        if fence:  # a code block: left as it is (the same fences as protect() sees)
            i = _fence_end(lines, i, fence.group(2)) + 1
            continue
        line = lines[i]
        if "%" in line and "](" in line:
            pieces, last = [], 0
            for span in _CODE_SPAN.finditer(line):
                pieces.append(_MD_LINK.sub(_as_html, line[last:span.start()]))
                pieces.append(span.group(0))
                last = span.end()
            pieces.append(_MD_LINK.sub(_as_html, line[last:]))
            lines[i] = "".join(pieces)
        i += 1
    return "\n".join(lines)


def _as_html(match: re.Match) -> str:
    import html as html_module

    from .escape import unescape_markdown

    bang, text, dest, title = match.groups()
    url = dest[1:-1] if dest.startswith("<") else dest
    if not _RESERVED_ESCAPE.search(url):
        return match.group(0)
    def attribute(value: str) -> str:  # Markdown's backslash escapes undone, then HTML-quoted
        return html_module.escape(unescape_markdown(value), quote=True)

    url = attribute(url)
    title_attr = f' title="{attribute(title)}"' if title else ""
    if bang:
        return f'<img {MARK} src="{url}" alt="{attribute(text)}"{title_attr}>'
    return f'<a {MARK} href="{url}"{title_attr}>{text}</a>'


# -- loading ----------------------------------------------------------------------------------
_targets: dict[str, Target] | None = None


def parse_targets(data: dict[str, Any], source: str) -> dict[str, Target]:
    """`[target.NAME]` tables (of targets.toml or a rules file) to Target profiles, checked."""
    tables = data.get("target", {})
    if not isinstance(tables, dict):
        raise ConversionError(f"{source}: [target.NAME] must be tables")
    known = {"description", "rename", "as_list", "defaults", "tags_from", "tag_style", "protect", "name",
             "escaped_urls_as_html"}
    targets = {}
    for name, table in tables.items():
        where = f"{source}: target {name!r}"
        if not isinstance(table, dict):
            raise ConversionError(f"{where} must be a table")
        unknown = set(table) - known
        if unknown:
            raise ConversionError(f"{where} has unknown keys: {', '.join(sorted(unknown))}")
        if table.get("protect", "") not in ENGINES:
            raise ConversionError(f"{where}: protect {table['protect']!r} is not one of {', '.join(repr(e) for e in ENGINES)}")
        if table.get("tag_style", "") not in TAG_STYLES:
            raise ConversionError(f"{where}: tag_style {table['tag_style']!r} is not one of {', '.join(repr(e) for e in TAG_STYLES)}")
        for key in ("rename", "defaults"):
            if not isinstance(table.get(key, {}), dict):
                raise ConversionError(f"{where}: {key} must be a table")
        for key in ("as_list", "tags_from"):
            value = table.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConversionError(f"{where}: {key} must be a list of strings")
        file_name = table.get("name", "{path}{stem}")
        check_name_template(file_name)
        targets[name] = Target(
            name=name, description=str(table.get("description", "")), rename=tuple(table.get("rename", {}).items()),
            as_list=tuple(table.get("as_list", [])), defaults=tuple(table.get("defaults", {}).items()),
            tags_from=tuple(table.get("tags_from", [])), tag_style=table.get("tag_style", ""),
            protect=table.get("protect", ""), file_name=file_name,
            escaped_urls_as_html=bool(table.get("escaped_urls_as_html", False)),
        )
    return targets


def built_in_targets() -> dict[str, Target]:
    global _targets
    if _targets is None:
        from .rules import read_toml

        _targets = parse_targets(read_toml(TARGETS_PATH.read_text("utf-8")), "built-in targets")
    return _targets


def get_target(name: str, extra: dict[str, Target] | None = None) -> Target:
    """The target called `name`: the user's (from --rules) or a built-in one."""
    targets = {**built_in_targets(), **(extra or {})}
    if name not in targets:
        raise ConversionError(f"no target {name!r} (targets: {', '.join(sorted(targets))})")
    return targets[name]
