"""`feed2md rules`: the active site rules as text (complete, unwrapped, for grep and diff),
as a table on a terminal, or as JSON."""

from __future__ import annotations

import os
import sys

from .io import write_stdout

RULE_FIELDS = ("names", "hosts", "drop", "unwrap", "companies", "redirects", "strip_params", "keep_params",
               "code_chrome", "lazy_src", "source_link")


def _rule_record(site) -> dict:
    record: dict = {"site": site.name, "from": site.source, "always": site.always}
    for field in RULE_FIELDS:
        values = getattr(site, field)
        if field == "redirects":
            values = [{k: v for k, v in r._asdict().items() if v} for r in values]
        record[field] = list(values)
    return record


def _redirect_text(r: dict) -> str:
    text = f"{r['host']}{r.get('path', '')}?{r['param']}="
    extras = [f"{k} {r[k]}" for k in ("encoding", "inner") if r.get(k)]
    return text + (f" ({', '.join(extras)})" if extras else "")


def show_rules(sites, fmt: str) -> None:
    """Print `sites` (SiteRule entries) as `fmt`: auto, table, text or json."""
    records = [_rule_record(site) for site in sites]
    if fmt == "auto":
        fmt = "table" if sys.stdout.isatty() else "text"
    if fmt == "json":
        import json

        write_stdout(json.dumps(records, ensure_ascii=False, indent=2) + "\n")
        return
    if fmt == "text":  # complete and unwrapped, for grep and diff
        lines = []
        for r in records:
            lines.append(f"{r['site']}: from {r['from']}" + ("; applies to every article" if r["always"] else ""))
            for field in RULE_FIELDS:
                if r[field]:
                    values = [_redirect_text(v) for v in r[field]] if field == "redirects" else r[field]
                    lines.append(f"{r['site']}: {field}: " + " | ".join(values))
        write_stdout("\n".join(lines) + "\n")
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="feed2md site rules", show_lines=True)
    for column in ("site", "applies to", "removes", "links", "from"):
        table.add_column(column, overflow="fold")
    for r in records:
        applies = "every article" if r["always"] else "\n".join([*r["names"], *r["hosts"]])
        removes = [*(f"drop {v}" for v in r["drop"]), *(f"unwrap {v}" for v in r["unwrap"]),
                   *(f"company {v}" for v in r["companies"]), *(f"in code .{v}" for v in r["code_chrome"]),
                   *(f"source link {v}" for v in r["source_link"]), *(f"lazy image {v}" for v in r["lazy_src"])]
        links = [*(f"redirect {_redirect_text(v)}" for v in r["redirects"]), *(f"strip {v}" for v in r["strip_params"]),
                 *(f"keep {v}" for v in r["keep_params"])]
        # Text(...) cells: a selector such as [href*='…'] is shown as written, never read as markup.
        table.add_row(*(Text(cell) for cell in (r["site"], applies, "\n".join(removes), "\n".join(links), r["from"])))
    Console(no_color="NO_COLOR" in os.environ).print(table)
