"""The `feed2md` command line (Typer). Thin: it parses arguments, reads and writes files,
reports; all converting is done by `feed2md.converters`.

Exit codes: 0 ok, 1 an input failed (or --check found changes, or --verify found losses),
2 usage error, 130 interrupted.
"""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path

import typer

# Only the light names here: the HTML machinery loads when a command converts (start-up time).
from feed2md.converters import CompanyLinks, ConversionError, Options, default_rules, parse_rules

from .io import current_bytes, error, write_atomic, write_stdout

EPILOG_EXIT = "Exit codes: 0 ok, 1 some input failed / --check found changes, 2 usage error, 130 interrupted."

app = typer.Typer(
    name="feed2md",
    help="Turn scraped feed articles (YAML front matter + raw HTML), and feeds themselves, into clean, normalised Markdown.\n\n"
    + EPILOG_EXIT,
    add_completion=False,  # ours below: `--show-completion SHELL` prints that shell's script
    pretty_exceptions_enable=False,
    no_args_is_help=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class OutputFormat(str, Enum):
    md = "md"
    json = "json"


def _version() -> str:
    from feed2md.converters import __version__

    return __version__


def _version_callback(value: bool) -> None:
    if value:
        write_stdout(f"feed2md {_version()}\n")
        raise typer.Exit()


SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")


def _completion_callback(ctx: typer.Context, param, value: str | None) -> None:
    if value is None or ctx.resilient_parsing:
        return
    if value not in SHELLS:
        raise _usage(f"{value!r} is not one of {', '.join(SHELLS)}")
    from typer._completion_classes import completion_init
    from typer._completion_shared import get_completion_script, install

    completion_init()
    if param.name == "show_completion":
        write_stdout(get_completion_script(prog_name="feed2md", complete_var="_FEED2MD_COMPLETE", shell=value) + "\n")
    else:
        shell, path = install(shell=value, prog_name="feed2md", complete_var="_FEED2MD_COMPLETE")
        sys.stderr.write(f"feed2md: {shell} completion installed in {path}; it works in new shells\n")
    raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    version: bool = typer.Option(False, "--version", "-V", callback=_version_callback, is_eager=True, help="Show the version and exit."),
    config: Path | None = typer.Option(None, "--config", metavar="FILE", help="Read options from this file instead of the one found (feed2md.toml, or \\[tool.feed2md] in pyproject.toml, from here upward)."),
    no_config: bool = typer.Option(False, "--no-config", help="Read no configuration file."),
    show_completion: str | None = typer.Option(None, "--show-completion", metavar="SHELL", callback=_completion_callback, expose_value=False, is_eager=True, help=f"Print the completion script for SHELL ({', '.join(SHELLS)})."),
    install_completion: str | None = typer.Option(None, "--install-completion", metavar="SHELL", callback=_completion_callback, expose_value=False, is_eager=True, help="Install completion for SHELL."),
) -> None:
    """Turn scraped feed articles into clean, normalised Markdown."""
    if config is not None and no_config:
        raise _usage("give --config FILE or --no-config, not both")
    path = config if config is not None else None if no_config else _found_config()
    if path is not None:
        ctx.default_map = _defaults(path, ctx.command.commands)


def _defaults(path: Path, commands: dict) -> dict:
    """Click's default_map from a configuration file; a bad one is a usage error (exit 2)."""
    from .config import ConfigError, default_map, load_config

    try:
        return default_map(load_config(path), path, commands)
    except ConfigError as exc:
        error(str(exc))
        raise typer.Exit(2) from None


def _command_config(ctx: typer.Context, param, value) -> None:
    """`feed2md CMD --config FILE` / `--no-config`: eager, so the defaults change before any
    other option of the command is read."""
    if not value or ctx.resilient_parsing:
        return
    if param.name == "no_config":
        ctx.default_map = None
        return
    ctx.default_map = _defaults(Path(value), ctx.parent.command.commands).get(ctx.info_name)


def _config_options() -> dict:
    return {
        "config": typer.Option(None, "--config", metavar="FILE", callback=_command_config, is_eager=True, expose_value=False,
                               help="Read options from this configuration file (see `feed2md --help`)."),
        "no_config": typer.Option(False, "--no-config", callback=_command_config, is_eager=True, expose_value=False,
                                  help="Read no configuration file."),
    }


def _found_config() -> Path | None:
    from .config import find_config

    return find_config(Path.cwd())


def _options(
    companies: CompanyLinks, rules_file: Path | None, keep_proxies: bool = False, max_size: float | None = None,
    verifying: bool = True, target: str = "gfm",
) -> Options:
    rules = None  # the built-in rules, parsed when first needed
    if rules_file is not None:
        try:
            text = rules_file.read_text("utf-8")
        except OSError as exc:
            error(f"{rules_file}: cannot read rules file: {exc.strerror or exc}")
            raise typer.Exit(2) from None
        try:
            rules = default_rules().merged_with(parse_rules(text, source=str(rules_file)))
        except ConversionError as exc:
            error(str(exc))
            raise typer.Exit(2) from None
    extra = {} if max_size is None else {"max_size": int(max_size * 2**20)}
    # Without --verify nothing reads the decoded input again: it is not kept (memory).
    options = Options(company_links=companies, rules=rules, keep_proxies=keep_proxies, keep_source=verifying,
                      target=target, **extra)
    if target != "gfm":
        try:
            options.target_profile()  # an unknown target is a usage error, before any file
        except ConversionError as exc:
            raise _usage(str(exc)) from None
    return options


TARGET_HELP = "The publisher the Markdown is for: gfm (default), hexo, hugo, jekyll, obsidian, or one a --rules file defines (see README, Publishing targets)."
NAME_HELP = "Output file names, without .md: {path}{stem} by default, {path}{date:%Y-%m-%d}-{slug} for jekyll, {path}{title} for obsidian; fields {path} {stem} {title} {slug} {date:FORMAT}."
IMAGES_HELP = "remote: leave pictures where they are (default); download: fetch each picture of the article (and its cover) and store it beside the Markdown, as the target lays it out (see README, Images)."
PRIVATE_HELP = "With --images download: also fetch from loopback, private and link-local addresses (tests, intranets)."


class ImagesMode(str, Enum):
    remote = "remote"
    download = "download"


COMPANIES_HELP = "36kr company links: 'text' keeps only the name (default), 'list' also lists them under `companies` in the front matter, 'link' keeps clean links."
RULES_HELP = "A TOML file of extra or overriding site rules (see `feed2md rules`)."
PROXIES_HELP = "Keep image and link addresses that wrap another address (CORS and image proxies) as written."
MAX_SIZE_HELP = "Largest input to convert, in MiB (default 64; 0: no limit). Larger files fail with one line."


def _usage(message: str) -> Exception:
    """A usage error (exit 2) of the command being run."""
    from typer._click.globals import get_current_context

    return typer._click.exceptions.UsageError(message, ctx=get_current_context(silent=True))


class _Command(typer.core.TyperCommand):
    """Usage lines without Typer's braces around required arguments (braces read as a choice)."""

    def collect_usage_pieces(self, ctx) -> list[str]:
        return [p[1:-1] if p.startswith("{") and p.endswith("}") else p for p in super().collect_usage_pieces(ctx)]


_CONFIG = _config_options()  # --config and --no-config, on every command too
QUIET_HELP = "Print errors only: no warnings, no summary, no progress bar."
VERBOSE_HELP = "Also say what each conversion did (links cleaned, company links removed, …)."


@app.command("convert", cls=_Command, epilog="Example: feed2md convert article.txt > article.md    |    cat article.txt | feed2md convert - | head\n\n" + EPILOG_EXIT)
def convert_cmd(
    files: list[str] = typer.Argument(None, metavar="[FILE]...", help="Articles to convert; '-' or nothing (with a pipe) reads stdin."),
    output: str | None = typer.Option(None, "-o", "--output", metavar="PATH", help="Write to this file, or into this folder (several inputs, an existing folder, or a name ending in '/'); '-': stdout."),
    fmt: OutputFormat = typer.Option(OutputFormat.md, "--format", "-f", help="md: the Markdown file; json: one JSON object per line and input (path, metadata, body, warnings; path and error for a failed input)."),
    stdin_filename: str | None = typer.Option(None, "--stdin-filename", metavar="NAME", help="The name of what stdin holds: used in messages, in JSON and for the output's name under -o DIR."),
    companies: CompanyLinks = typer.Option(CompanyLinks.TEXT, "--companies", help=COMPANIES_HELP),
    target: str = typer.Option("gfm", "--target", "-t", metavar="TARGET", help=TARGET_HELP),
    rules_file: Path | None = typer.Option(None, "--rules", help=RULES_HELP),
    keep_proxies: bool = typer.Option(False, "--keep-proxies", help=PROXIES_HELP),
    max_size: float = typer.Option(None, "--max-size", min=0, metavar="MIB", help=MAX_SIZE_HELP, show_default=False),
    verify_output: bool = typer.Option(False, "--verify", help="Check that the Markdown still says everything the article said; losses are warnings and make the exit code 1."),
    images: ImagesMode = typer.Option(ImagesMode.remote, "--images", help=IMAGES_HELP),
    allow_private: bool = typer.Option(False, "--allow-private-addresses", help=PRIVATE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help=VERBOSE_HELP),
    config: str | None = _CONFIG["config"],
    no_config: bool = _CONFIG["no_config"],
) -> None:
    """Convert article FILEs to Markdown on stdout (or -o)."""
    if not files:
        if sys.stdin is None or sys.stdin.isatty():
            raise _usage("no input: give a FILE, or '-' to read a pipe")
        files = ["-"]
    if files.count("-") > 1:
        raise _usage("stdin ('-') can be read only once")
    to_stdout = output in (None, "-")
    folder = None
    if not to_stdout:
        folder_wanted = output.endswith(("/", os.sep)) or len(files) > 1 or os.path.isdir(output)
        if folder_wanted:
            if os.path.exists(output) and not os.path.isdir(output):
                raise _usage(f"{output} is not a folder; several inputs need -o DIR")
            folder = Path(output)
    elif len(files) > 1 and fmt is OutputFormat.md:
        raise _usage("several inputs cannot share stdout as Markdown: give -o DIR, or --format json (one object per line)")
    options = _options(companies, rules_file, keep_proxies, max_size, verifying=verify_output, target=target)
    if images is ImagesMode.download and (to_stdout or fmt is OutputFormat.json):
        raise _usage("--images download stores pictures beside the Markdown: give -o FILE or -o DIR/ (and --format md)")
    downloader = None
    from feed2md.converters import convert_bytes

    failed = False
    written: set[Path] = set()
    for name in files:
        shown = (stdin_filename or "<stdin>") if name == "-" else name
        try:
            # Read straight into the call: convert_bytes then holds the only reference to
            # the bytes and frees them once decoded (a big file is not held twice).
            result = convert_bytes(sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes(), options)
        except ConversionError as exc:
            failed = _failed(shown, str(exc), fmt, output if to_stdout else None)
            continue
        except OSError as exc:
            failed = _failed(shown, f"cannot read: {exc.strerror or exc}", fmt, output if to_stdout else None)
            continue
        warnings = list(result.report.warnings)
        if verify_output:
            from feed2md.converters.verify import verify as find_losses

            losses = find_losses(result.source, result.text, options.rules, options.target)
            warnings += [f"verify: {loss}" for loss in losses]
            failed = failed or bool(losses)
        for warning in warnings:
            if not quiet or warning.startswith("verify: "):
                error(f"{shown}: warning: {warning}")
        if verbose:
            error(f"{shown}: {_what_it_did(result.report)}")
        if fmt is OutputFormat.json:
            payload = _json_line({"path": shown, "metadata": result.metadata, "body": result.body, "warnings": warnings,
                                  "report": result.report.as_dict()})
        else:
            payload = result.text
        if to_stdout:
            write_stdout(payload)
            continue
        destination = Path(output)
        if folder is not None:
            base = stdin_filename if name == "-" and stdin_filename else "stdin" if name == "-" else name
            destination = folder / (_file_name(Path(base).name, result.metadata, options) +
                                    (".jsonl" if fmt is OutputFormat.json else ".md"))
        if name != "-" and destination.resolve() == Path(name).resolve():
            error(f"{shown}: refusing to overwrite the input")
            failed = True
            continue
        if destination.resolve() in written:
            error(f"{shown}: not written: {destination} already holds another input's output")
            failed = True
            continue
        if images is ImagesMode.download:
            from .images import Downloader, localise_conversion

            if downloader is None:
                downloader = Downloader(destination.parent, allow_private)
            payload, destination, stats, failures = localise_conversion(result, destination, options.target, downloader)
            for failure in failures:
                error(f"{shown}: {failure}")
            if not quiet and (stats.fetched or stats.reused or stats.failed):
                error(f"{shown}: {stats.line()}")
        written.add(destination.resolve())
        data = payload.encode("utf-8")
        try:
            if current_bytes(destination) != data:  # unchanged output: left alone, mtime and all
                write_atomic(destination, data)
        except OSError as exc:
            error(f"{destination}: cannot write: {exc.strerror or exc}")
            failed = True
    if failed:
        raise typer.Exit(1) from None


def _file_name(base: str, metadata: dict, options: Options) -> str:
    """An output's name in a folder: the input's stem, or what the target's name template says."""
    if options.target == "gfm":
        return Path(base).stem
    from feed2md.converters.targets import output_name

    template = options.target_profile().file_name
    return output_name(template.replace("{path}", ""), base, metadata)


def _name_template(name: str | None, options: Options) -> str:
    """Batch's output-name template: --name, else the target's; "" for the plain {path}{stem}."""
    if name is None and options.target == "gfm":
        return ""
    from feed2md.converters.targets import check_name_template

    template = name if name is not None else options.target_profile().file_name
    try:
        check_name_template(template)
    except ConversionError as exc:
        raise _usage(str(exc)) from None
    return "" if template == "{path}{stem}" else template


def _json_line(obj: dict) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, default=str) + "\n"


def _failed(shown: str, why: str, fmt: OutputFormat, stdout_output: str | None) -> bool:
    """Report a failed input: a line on stderr and, in a JSON stream on stdout, an object
    with its path and error (a `jq` pipeline keeps track of every input)."""
    error(f"{shown}: {why}")
    if fmt is OutputFormat.json and stdout_output in (None, "-"):
        write_stdout(_json_line({"path": shown, "error": why}))
    return True


def _what_it_did(report) -> str:
    parts = [f"{report.body_kind} body"]
    if report.sites:
        parts.append("sites " + ", ".join(report.sites))
    for label, count in (("company links removed", report.company_links_removed), ("links cleaned", report.links_changed),
                         ("unsafe addresses removed", report.unsafe_removed), ("hidden elements removed", report.hidden_removed),
                         ("proxies unwrapped", report.proxies_unwrapped), ("media linked", report.media_linked)):
        if count:
            parts.append(f"{count} {label}")
    parts += report.changes
    return "; ".join(parts)


@app.command(cls=_Command, epilog="Example: feed2md batch scraped/ -o markdown/ --report report.jsonl\n\n" + EPILOG_EXIT)
def batch(
    src: Path = typer.Argument(..., exists=True, file_okay=False, dir_okay=True, metavar="SRC_DIR", help="Folder of scraped articles."),
    out: Path = typer.Option(..., "-o", "--output", metavar="OUT_DIR", help="Folder for the Markdown files (mirrors SRC_DIR)."),
    globs: list[str] = typer.Option(None, "--glob", "-g", metavar="PATTERN", help="Inputs to take (repeatable): a name ('*.txt') at any depth, or a path from SRC_DIR ('mixed/*.txt', '**/2021-*.md'). Default: *.md, *.txt, *.html."),
    excludes: list[str] = typer.Option(None, "--exclude", "-x", metavar="PATTERN", help="Files or folders to leave out (repeatable; patterns as for --glob)."),
    name: str | None = typer.Option(None, "--name", metavar="TEMPLATE", help=NAME_HELP),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, show_default=False, help="Worker processes (default: the number of CPUs; never more than the files to convert)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 naming each output that is missing, would change, or whose input is gone."),
    diff: bool = typer.Option(False, "--diff", help="With --check: print a unified diff of each change on stdout."),
    prune: bool = typer.Option(False, "--prune", help="Delete outputs whose input is gone (only files feed2md wrote and nobody changed since)."),
    report: Path | None = typer.Option(None, "--report", metavar="FILE", help="Write one JSON line per input, in path order, to FILE ('-': stdout)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also name each file converted, and each conversion's warnings."),
    force: bool = typer.Option(False, "--force", help="Reconvert every file, ignoring the record of earlier runs."),
    companies: CompanyLinks = typer.Option(CompanyLinks.TEXT, "--companies", help=COMPANIES_HELP),
    target: str = typer.Option("gfm", "--target", "-t", metavar="TARGET", help=TARGET_HELP),
    rules_file: Path | None = typer.Option(None, "--rules", help=RULES_HELP),
    keep_proxies: bool = typer.Option(False, "--keep-proxies", help=PROXIES_HELP),
    max_size: float = typer.Option(None, "--max-size", min=0, metavar="MIB", help=MAX_SIZE_HELP, show_default=False),
    verify_output: bool = typer.Option(False, "--verify", help="Verify every conversion; a loss is a warning and makes the exit code 1."),
    images: ImagesMode = typer.Option(ImagesMode.remote, "--images", help=IMAGES_HELP),
    allow_private: bool = typer.Option(False, "--allow-private-addresses", help=PRIVATE_HELP),
    config: str | None = _CONFIG["config"],
    no_config: bool = _CONFIG["no_config"],
) -> None:
    """Convert every article under SRC_DIR into OUT_DIR, in parallel, skipping files already up to date."""
    from .batch import ImageOptions, run_batch
    from .outdir import Busy, digest
    from .walk import DEFAULT_GLOBS
    from .batch_report import BatchReporter

    if diff and not check:
        raise _usage("--diff shows what --check finds: give both")
    if diff and report is not None and str(report) == "-":
        raise _usage("--diff and --report - would share stdout: give the report a FILE")
    options = _options(companies, rules_file, keep_proxies, max_size, verifying=verify_output, target=target)
    out_resolved = out.resolve()
    if out_resolved == src.resolve() or out_resolved in src.resolve().parents:
        # Outputs mirror SRC_DIR under OUT_DIR: with SRC_DIR inside it, one could land on an input.
        raise _usage("OUT_DIR must not be SRC_DIR or hold it (inputs are never overwritten)")
    if out.exists() and not out.is_dir():
        raise _usage(f"{out}: exists and is not a folder")
    template = _name_template(name, options)
    if images is ImagesMode.download and options.target == "hugo":  # page bundles: NAME/index.md
        template = (template or "{path}{stem}") + "/index"
    key = digest(f"{_version()}|{options.fingerprint()}|verify={verify_output}|name={template}|images={images.value}".encode())
    try:
        reporter = BatchReporter(report_path=report, quiet=quiet, check=check, verbose=verbose)
    except OSError as exc:
        error(f"{report}: cannot write the report: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    try:
        summary = run_batch(
            src, out, globs=tuple(globs or DEFAULT_GLOBS), excludes=tuple(excludes or ()), name_template=template,
            jobs=jobs or os.cpu_count() or 1,
            options=options, state_key=key, check=check, diff=diff, prune=prune, verify=verify_output, force=force,
            images=ImageOptions(str(out), allow_private) if images is ImagesMode.download else None,
            on_outcome=reporter.outcome, on_start=reporter.start,
        )
    except Busy:
        error(f"{out}: another feed2md batch is writing this folder; try again when it has finished")
        raise typer.Exit(2) from None
    except OSError as exc:  # the output folder itself cannot be made or written
        error(f"{exc.filename or out}: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    finally:
        reporter.close()
    reporter.summary(summary)
    if summary.failed or summary.would_change or (check and summary.stale) or (verify_output and reporter.verify_losses):
        raise typer.Exit(1)


class FeedFormat(str, Enum):
    md = "md"
    jsonl = "jsonl"


@app.command(cls=_Command, epilog="Example: curl -s https://rsshub.example/36kr/newsflashes | feed2md feed - -o posts/    |    feed2md feed --opml subscriptions.opml -o posts/\n\n" + EPILOG_EXIT)
def feed(
    sources: list[str] = typer.Argument(None, metavar="[SOURCE]...", help="Feeds: files, '-' for stdin, or http(s) addresses (RSS, Atom, RDF, JSON Feed)."),
    output: Path | None = typer.Option(None, "-o", "--output", metavar="DIR", help="Folder for one Markdown file per entry (kept up to date across runs)."),
    fmt: FeedFormat = typer.Option(FeedFormat.md, "--format", "-f", help="md: files under -o DIR; jsonl: one JSON object per entry on stdout (with or without -o)."),
    opml: list[Path] = typer.Option(None, "--opml", metavar="FILE", help="An OPML subscription list: read every feed it names (repeatable)."),
    name: str | None = typer.Option(None, "--name", metavar="TEMPLATE", help="Entry file names, without .md (default {path}{date:%Y-%m-%d}-{slug}; {path} is the feed's folder when there are several feeds)."),
    check: bool = typer.Option(False, "--check", help="Write nothing; exit 1 naming each entry that is new or changed."),
    jobs: int = typer.Option(0, "--jobs", "-j", min=0, show_default=False, help="Worker processes for long feeds (default: the number of CPUs)."),
    images: ImagesMode = typer.Option(ImagesMode.remote, "--images", help=IMAGES_HELP),
    allow_private: bool = typer.Option(False, "--allow-private-addresses", help=PRIVATE_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help=QUIET_HELP),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Also name each file written, each entry's warnings, and feeds not modified."),
    companies: CompanyLinks = typer.Option(CompanyLinks.TEXT, "--companies", help=COMPANIES_HELP),
    target: str = typer.Option("gfm", "--target", "-t", metavar="TARGET", help=TARGET_HELP),
    rules_file: Path | None = typer.Option(None, "--rules", help=RULES_HELP),
    keep_proxies: bool = typer.Option(False, "--keep-proxies", help=PROXIES_HELP),
    max_size: float = typer.Option(None, "--max-size", min=0, metavar="MIB", help=MAX_SIZE_HELP, show_default=False),
    config: str | None = _CONFIG["config"],
    no_config: bool = _CONFIG["no_config"],
) -> None:
    """Convert feed entries to Markdown files, one per entry; re-runs write only what is new or changed."""
    from .feed import DEFAULT_NAME, run_feeds, sources_of, stdin_reader

    if not sources and not opml:
        if sys.stdin is None or sys.stdin.isatty():
            raise _usage("no feed: give a SOURCE (a file, '-' or an address) or --opml FILE")
        sources = ["-"]
    if (sources or []).count("-") > 1:
        raise _usage("stdin ('-') can be read only once")
    if output is None and fmt is FeedFormat.md:
        raise _usage("give -o DIR for the entry files, or --format jsonl for stdout")
    if output is not None and output.exists() and not output.is_dir():
        raise _usage(f"{output}: exists and is not a folder")
    options = _options(companies, rules_file, keep_proxies, max_size, verifying=False, target=target)
    template = name if name is not None else DEFAULT_NAME
    if name is None and options.target != "gfm":  # a target that names files by title or date (jekyll, obsidian)
        from feed2md.converters.targets import needs_metadata

        profile = options.target_profile().file_name
        template = profile if needs_metadata(profile) else template
    if images is ImagesMode.download and output is None:
        raise _usage("--images download stores pictures beside the entry files: give -o DIR")
    if images is ImagesMode.download and options.target == "hugo":
        template += "/index"  # page bundles: NAME/index.md with its pictures
    from feed2md.converters.targets import check_name_template

    try:
        check_name_template(template)
        chosen = sources_of(list(sources or []), list(opml or []), lambda p: p.read_bytes())
    except ConversionError as exc:
        raise _usage(str(exc)) from None
    from .outdir import Busy, digest, lock_output

    key = digest(f"{_version()}|{options.fingerprint()}|name={template}".encode())
    lock = None
    if output is not None and not check:
        output.mkdir(parents=True, exist_ok=True)
        try:
            lock = lock_output(output)
        except Busy:
            error(f"{output}: another feed2md run is writing this folder; try again when it has finished")
            raise typer.Exit(2) from None
    try:
        summary = run_feeds(chosen, output, options, name_template=template, check=check,
                            as_jsonl=fmt is FeedFormat.jsonl, quiet=quiet, verbose=verbose, state_key=key,
                            read_stdin=stdin_reader, jobs=jobs or os.cpu_count() or 1,
                            images=(str(output), allow_private) if images is ImagesMode.download and output is not None else None)
    finally:
        if lock is not None:
            os.close(lock)
    if not quiet:
        sys.stderr.write(summary.line() + "\n")
    if summary.failed or summary.feeds_failed or (check and (summary.new or summary.changed)):
        raise typer.Exit(1)


@app.command(epilog="Example: feed2md verify scraped/a.txt markdown/a.md    |    feed2md verify scraped/a.txt\n\n" + EPILOG_EXIT)
def verify(
    source: Path = typer.Argument(..., metavar="SOURCE", help="The scraped article."),
    output: Path | None = typer.Argument(None, metavar="[MARKDOWN]", help="Its Markdown; omitted: a fresh conversion is checked."),
    companies: CompanyLinks = typer.Option(CompanyLinks.TEXT, "--companies", help=COMPANIES_HELP),
    target: str = typer.Option("gfm", "--target", "-t", metavar="TARGET", help=TARGET_HELP),
    rules_file: Path | None = typer.Option(None, "--rules", help=RULES_HELP),
    config: str | None = _CONFIG["config"],
    no_config: bool = _CONFIG["no_config"],
) -> None:
    """Check that the Markdown still says everything the article said (exit 0), or list what is lost (exit 1)."""
    from feed2md.converters import convert, decode
    from feed2md.converters.verify import verify as find_losses

    options = _options(companies, rules_file, target=target)
    try:
        text, _ = decode(source.read_bytes())
        if output is None:
            markdown = convert(text, options).text
        else:
            markdown, _ = decode(output.read_bytes())
    except ConversionError as exc:
        error(f"{output if output is not None and source.exists() else source}: {exc}")
        raise typer.Exit(1) from None
    except OSError as exc:
        error(f"{exc.filename}: cannot read: {exc.strerror or exc}")
        raise typer.Exit(1) from None
    losses = find_losses(text, markdown, options.rules, options.target)  # rules None: the built-in ones
    for loss in losses:
        error(f"{output or source}: {loss}")
    if losses:
        raise typer.Exit(1) from None


class RulesFormat(str, Enum):
    auto = "auto"
    table = "table"
    text = "text"
    json = "json"


@app.command(cls=_Command, epilog="Example: feed2md rules --rules my-rules.toml    |    feed2md rules --format json | jq '.[].site'\n\n" + EPILOG_EXIT)
def rules(
    rules_file: Path | None = typer.Option(None, "--rules", help=RULES_HELP),
    fmt: RulesFormat = typer.Option(RulesFormat.auto, "--format", "-f", help="table (a terminal's default), text (one 'site: key: values' line each, the default in a pipe) or json."),
    config: str | None = _CONFIG["config"],
    no_config: bool = _CONFIG["no_config"],
) -> None:
    """List the active site rules (built-in, plus those of --rules), every field of each."""
    options = _options(CompanyLinks.TEXT, rules_file)
    from .rules_listing import show_rules

    show_rules((options.rules or default_rules()).sites, fmt.value)


# The process around the app (signals, usage errors, exit) lives in entry.py; `run` is the
# console script's entry point, and stays importable from here.
from .entry import _run_app, run  # noqa: E402,F401

if __name__ == "__main__":  # pragma: no cover
    run()
