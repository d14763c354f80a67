#!/usr/bin/env python3
"""feed2md benchmark: speed and memory against html2text, measured side by side in one run.

    python benchmarks/bench.py [--copies 50] [--runs 15] [--repeat 3]

Builds a tree of COPIES copies of ../shared/corpus (67 articles each), then measures (the tree
measures REPEAT times, interleaved, reporting medians):

  floor       bare html2text in one process: read each file, convert its body, write one output
  jobs1       feed2md batch --jobs 1 (fresh output folder)
  jobs2       feed2md batch --jobs 2 (fresh output folder)
  rerun       feed2md batch again over the jobs2 output (nothing changed)
  convert     feed2md convert FILE vs the html2text CLI on the same body (median of RUNS)
  memory      peak RSS of any one batch process, for a small and the full tree

and prints each figure with its ratio and the target of issue #7.

    python benchmarks/bench.py --hostile [--size-mb 50]

measures instead the pathological inputs of issue #13, one `feed2md convert` each: 5,000
nested lists, quotes and tables (time, text kept), and peak memory against body size for a
big article (the corpus repeated to SIZE_MB) and for 100,000 36kr company links, against the
bound of 8x the body plus 60 MB.

    python benchmarks/bench.py --feed [--entries 1000]

measures issue #16's target: one RSS feed of ENTRIES corpus bodies through `feed2md feed`
against the same bodies as scraped files through `feed2md batch` (entries per second; the
target is at least 0.8x), medians of REPEAT interleaved runs. Timings on a shared machine
are noisy: read the ratios, and run it twice before believing a regression. The CPU-time ratio
of one job against the floor is printed too: other load on the machine moves it much less.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = ROOT.parent / "shared" / "corpus"
WORK = HERE / "_work"
BIN = Path(sys.executable).parent


def build_tree(copies: int) -> tuple[Path, int]:
    src = WORK / f"src-{copies}"
    if src.exists():
        return src, sum(1 for _ in src.rglob("*.txt"))
    count = 0
    for c in range(copies):
        for folder in ("36kr", "mixed", "seed"):
            target = src / f"copy{c:03}" / folder
            target.mkdir(parents=True)
            for f in sorted((CORPUS / folder).glob("*.txt")):
                shutil.copy(f, target / f.name)
                count += 1
    return src, count


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def html2text_floor(src: Path, out: Path) -> tuple[float, float]:
    """What this design cannot beat: html2text alone, one process, one output per file.
    Returns (wall seconds, CPU seconds)."""
    import html2text

    cpu = _cpu(resource.RUSAGE_SELF)
    start = time.perf_counter()
    for path in sorted(src.rglob("*.txt")):
        text = path.read_text("utf-8")
        parts = text.split("\n---\n", 1) if text.lstrip().startswith("---") else ["", text]
        converter = html2text.HTML2Text(bodywidth=0)
        markdown = converter.handle(parts[-1])
        target = out / path.relative_to(src).with_suffix(".md")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(markdown, "utf-8")
    return time.perf_counter() - start, _cpu(resource.RUSAGE_SELF) - cpu


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall time of a command, and the CPU time of it and its worker processes."""
    cpu = _cpu(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[-500:]}")
    return elapsed, _cpu(resource.RUSAGE_CHILDREN) - cpu


def peak_rss(cmd: list[str]) -> int:
    """Peak RSS (KiB) of the largest process of a command, measured in a fresh child."""
    probe = (
        "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
        "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    return int(subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True).stdout)


def median_time(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm_bytecode() -> None:
    """Write feed2md's bytecode caches, as `pip install` does for a regular install and the
    first run does for an editable one. With PYTHONDONTWRITEBYTECODE set, an editable install
    would otherwise recompile its modules at every start (~14 ms of the one-file figure)."""
    import feed2md.cli
    import feed2md.converters

    folders = [*feed2md.converters.__path__, *feed2md.cli.__path__]
    subprocess.run([sys.executable, "-m", "compileall", "-q", *folders], check=True)


def run_measured(cmd: list[str]) -> tuple[float, int, bytes]:
    """Wall time, peak RSS (KiB) and stdout of one command, measured in a fresh child."""
    probe = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL); "
        "sys.stderr.write(f'{time.perf_counter() - t} {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}'); "
        "sys.stdout.buffer.write(p.stdout)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True)
    seconds, rss = done.stderr.decode().split()[-2:]
    return float(seconds), int(rss), done.stdout


def hostile(feed2md: str, size_mb: int) -> int:
    """Issue #13's pathological inputs: time for deep nesting, memory against body size."""
    WORK.mkdir(exist_ok=True)
    front = "---\ntitle: t\n---\n"
    print("5,000 levels of nesting (target: under 1 s each, text kept)")
    for name, opening, closing in (("lists", "<ul><li>x", "</li></ul>"), ("quotes", "<blockquote>x", "</blockquote>"),
                                   ("tables", "<table><tr><td>x", "</td></tr></table>")):
        path = WORK / f"nested-{name}.txt"
        path.write_text(front + opening * 5000 + closing * 5000, "utf-8")
        seconds, _, out = run_measured([feed2md, "convert", str(path)])
        kept = out.decode("utf-8").split("---\n", 2)[-1].count("x")
        print(f"  {name:<7} {seconds:6.2f} s   text kept: {kept} of 5000")
    print(f"\npeak memory against body size (target: at most 8x the body + 60 MB)")
    article = (CORPUS / "mixed" / "010.txt").read_text("utf-8").split("\n---\n", 1)[1]
    big = WORK / f"big-{size_mb}mb.txt"
    if not big.exists():
        big.write_text(front + article * (size_mb * 2**20 // len(article.encode("utf-8"))), "utf-8")
    anchor = ('<a class="project-link" data-id="567007" data-name="资管网" data-logo="https://img.36krcdn.com/20210813/'
              'v2_af39aa4927834e609b6776184d182155_img_000" data-refer-type="2" href="https://36kr.com/projectDetails/567007" '
              'target="_blank">资管网</a>')
    links = WORK / "company-links-100k.txt"
    if not links.exists():
        links.write_text(front + "<p>" + "，".join([anchor] * 100_000) + "</p>", "utf-8")
    for label, path in ((f"a {size_mb} MB article", big), ("100,000 company links", links)):
        size = path.stat().st_size
        seconds, rss, _ = run_measured([feed2md, "convert", "--max-size", "0", str(path)])
        bound = 8 * size + 60 * 2**20
        print(f"  {label:<22} body {size / 2**20:6.1f} MB  peak {rss / 1024:6.0f} MB  "
              f"= {rss * 1024 / size:4.1f}x  bound {bound / 2**20:5.0f} MB  {'ok' if rss * 1024 <= bound else 'OVER'}  ({seconds:.1f} s)")
    return 0


def feed_speed(feed2md: str, entries: int, repeat: int) -> int:
    """Issue #16: a feed of `entries` entries against the same bodies as scraped files."""
    import html as html_module

    WORK.mkdir(exist_ok=True)
    src, feed = WORK / f"feed-src-{entries}", WORK / f"feed-{entries}.xml"
    if not feed.exists():
        shutil.rmtree(src, ignore_errors=True)
        src.mkdir()
        bodies = [p.read_text("utf-8") for p in sorted(CORPUS.glob("*/*.txt"))]
        bodies = [b.split("\n---\n", 1)[1] if b.startswith("---") else b for b in bodies]
        items = []
        for i in range(entries):
            body = bodies[i % len(bodies)]
            (src / f"{i:05}.txt").write_text(f"---\ntitle: entry {i}\ndate: 2021-07-29 06:47:26\n---\n{body}", "utf-8")
            items.append(f"<item><title>entry {i}</title><guid>urn:entry:{i}</guid><pubDate>Thu, 29 Jul 2021 06:47:26 GMT"
                         f"</pubDate><description>{html_module.escape(body)}</description></item>")
        feed.write_text('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
                        "<link>https://example.org/</link>" + "".join(items) + "</channel></rss>", "utf-8")
    feeds, batches = [], []
    for _ in range(repeat):
        for runs, command, out in ((feeds, "feed", WORK / "out-feed"), (batches, "batch", WORK / "out-feed-batch")):
            shutil.rmtree(out, ignore_errors=True)
            source = feed if command == "feed" else src
            runs.append(timed([feed2md, command, str(source), "-o", str(out), "--quiet"])[0])
    feed_time, batch_time = statistics.median(feeds), statistics.median(batches)
    print(f"feed2md feed, {entries} entries   {feed_time:6.2f} s  {entries / feed_time:6.0f} entries/s")
    print(f"feed2md batch, same bodies  {batch_time:6.2f} s  {entries / batch_time:6.0f} files/s")
    print(f"ratio {batch_time / feed_time:.2f}x batch's rate (target >= 0.8x)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--copies", type=int, default=50)
    parser.add_argument("--runs", type=int, default=15, help="runs of the one-file measures")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the tree measures (median)")
    parser.add_argument("--hostile", action="store_true", help="measure issue #13's pathological inputs instead")
    parser.add_argument("--size-mb", type=int, default=50, help="body size of the big-article measure (--hostile)")
    parser.add_argument("--feed", action="store_true", help="measure issue #16's feed conversion against batch instead")
    parser.add_argument("--entries", type=int, default=1000, help="entries of the feed (--feed)")
    args = parser.parse_args()
    feed2md = str(BIN / "feed2md")
    html2text_cli = str(BIN / "html2text")
    if not Path(feed2md).exists():
        sys.exit("install feed2md first (see README)")
    if args.hostile:
        warm_bytecode()
        return hostile(feed2md, args.size_mb)
    if args.feed:
        warm_bytecode()
        return feed_speed(feed2md, args.entries, args.repeat)

    warm_bytecode()
    src, files = build_tree(args.copies)
    small, small_files = build_tree(max(1, args.copies // 10))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"tree: {files} files ({sum(p.stat().st_size for p in src.rglob('*.txt')) / 1e6:.1f} MB)\n")

    rows = []
    floors, results, reruns, cpu = [], {1: [], 2: []}, [], {"floor": [], 1: []}
    for _ in range(args.repeat):  # interleaved, so that a busy spell hits every measure alike
        shutil.rmtree(WORK / "out-floor", ignore_errors=True)
        wall, used = html2text_floor(src, WORK / "out-floor")
        floors.append(wall)
        cpu["floor"].append(used)
        for jobs in (1, 2):
            out = WORK / f"out-j{jobs}"
            shutil.rmtree(out, ignore_errors=True)
            wall, used = timed([feed2md, "batch", str(src), "-o", str(out), "--jobs", str(jobs), "--quiet"])
            results[jobs].append(wall)
            if jobs == 1:
                cpu[1].append(used)
        reruns.append(timed([feed2md, "batch", str(src), "-o", str(WORK / "out-j2"), "--jobs", "2", "--quiet"])[0])
    floor, rerun = statistics.median(floors), statistics.median(reruns)
    results = {jobs: statistics.median(times) for jobs, times in results.items()}
    cpu_ratio = statistics.median(cpu[1]) / statistics.median(cpu["floor"])
    rows.append(("bare html2text, 1 process", floor, "floor"))
    rows.append(("feed2md batch --jobs 1", results[1],
                 f"{results[1] / floor:.2f}x floor (target <= 1.5x); CPU time {cpu_ratio:.2f}x"))
    rows.append(("feed2md batch --jobs 2", results[2], f"{results[1] / results[2]:.2f}x faster than --jobs 1 (target >= 1.7x)"))
    rows.append(("unchanged re-run", rerun, f"{results[2] / rerun:.1f}x faster than the first run (target >= 20x)"))

    sample = CORPUS / "seed" / "000_8175177d30c2fdc4.txt"
    body = WORK / "body.html"
    text = sample.read_text("utf-8")
    body.write_text(text.split("\n---\n", 1)[1], "utf-8")
    convert_time = median_time([feed2md, "convert", str(sample)], args.runs)
    h2t_time = median_time([html2text_cli, str(body)], args.runs)
    rows.append(("html2text CLI, one file", h2t_time, "reference"))
    rows.append(("feed2md convert FILE", convert_time, f"{convert_time / h2t_time:.2f}x html2text CLI (target <= 2.5x)"))

    width = max(len(r[0]) for r in rows)
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds * 1000:9.1f} ms  {note}")
    print(f"{'':<{width}}  throughput: {files / results[1]:.0f} files/s with 1 job, {files / results[2]:.0f} files/s with 2")

    mem_small = peak_rss([feed2md, "batch", str(small), "-o", str(WORK / "out-mem-small"), "--jobs", "2", "--quiet", "--force"])
    mem_full = peak_rss([feed2md, "batch", str(src), "-o", str(WORK / "out-mem-full"), "--jobs", "2", "--quiet", "--force"])
    print(f"\npeak memory of one batch process: {mem_small / 1024:.0f} MB for {small_files} files, "
          f"{mem_full / 1024:.0f} MB for {files} files (target < 150 MB, flat)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
