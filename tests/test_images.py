"""`--images download` (issue #17), against a local HTTP server on 127.0.0.1 that serves real
PNG files, on real corpus articles whose picture addresses are pointed at it; and the Hugo and
Hexo builds of the result, which must find every local picture."""

from __future__ import annotations

import http.server
import re
import shutil
import struct
import subprocess
import threading
import time
import zlib
from pathlib import Path

import pytest
import yaml

from . import matrix
from .conftest import CORPUS
from .test_cli import FEED2MD, run

IMAGE = re.compile(r"!\[[^\]]*\]\((<[^>]*>|[^\s)]+)")


def png(seed: int, size: int = 8) -> bytes:
    """A real PNG (size x size, one colour from `seed`), as any browser shows it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes([seed % 256, (seed * 7) % 256, (seed * 13) % 256]) * size
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * size)) + chunk(b"IEND", b""))


class ImageServer:
    """Serves /img/N.png (a PNG per N), and the failure cases; counts requests per path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                path = self.path.split("?")[0]
                if path.startswith("/img/"):
                    body, kind = png(int(re.sub(r"\D", "", path) or 0)), "image/png"
                elif path == "/page.png":  # an HTML page where a picture was expected
                    body, kind = b"<!DOCTYPE html><html><body>login</body></html>", "text/html"
                elif path == "/huge.png":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/png")
                    self.send_header("Content-Length", str(30 * 2**20))
                    self.end_headers()
                    return
                elif path == "/slow.png":
                    time.sleep(3)
                    body, kind = png(1), "image/png"
                elif path == "/to-private.png":
                    self.send_response(302)
                    self.send_header("Location", f"http://localhost:{server.port}/img/9.png")
                    self.end_headers()
                    return
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except OSError:
                    pass

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def server():
    s = ImageServer()
    yield s
    s.close()


def article(*images: str, cover: str = "") -> str:
    front = "title: pictures\ndate: 2021-07-29 06:47:26\n" + (f"headimg: {cover}\n" if cover else "")
    return f"---\n{front}---\n" + "".join(f'<p>picture {i}<img src="{src}"></p>' for i, src in enumerate(images))


def local_corpus(tmp_path: Path, base: str) -> Path:
    """The corpus, each picture address pointed at the local server (one PNG per address)."""
    src = tmp_path / "src"
    shutil.copytree(CORPUS, src, ignore=shutil.ignore_patterns("*.tsv"))
    numbers: dict[str, int] = {}

    def address(match: re.Match) -> str:
        number = numbers.setdefault(match.group(1), len(numbers))
        return f'="{base}/img/{number}.png"'

    def tag(match: re.Match) -> str:  # every address of the <img> (src, lazy attributes, srcset)
        return re.sub(r'="((?:https?:)?//[^"\s]+)[^"]*"', address, match.group(0))

    def cover(match: re.Match) -> str:
        number = numbers.setdefault(match.group(2), len(numbers))
        return f"{match.group(1)}{base}/img/{number}.png"

    for path in src.rglob("*.txt"):
        text = path.read_text("utf-8")
        text = re.sub(r"<img\b[^>]*>", tag, text)
        text = re.sub(r"(?m)^((?:headimg|thumbnail|cover):\s*['\"]?)(https?://[^\s'\"]+)", cover, text)
        path.write_text(text, "utf-8")
    assert len(numbers) > 50
    return src


def test_every_picture_is_fetched_once_stored_by_content_and_linked_locally(server, tmp_path):
    source = tmp_path / "a.txt"
    source.write_text(article(f"{server.url}/img/1.png", f"{server.url}/img/2.png", f"{server.url}/img/1.png",
                              "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                              "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", cover=f"{server.url}/img/3.png"))
    proc = run("convert", source, "-o", f"{tmp_path}/out/", "--images", "download", "--allow-private-addresses")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "out" / "a.md").read_text("utf-8")
    meta = yaml.safe_load(text.split("---\n")[1])
    local = IMAGE.findall(text)
    assert len(local) == 4 and all(re.fullmatch(r"a\.assets/[0-9a-f]{24}\.png", p) for p in local)
    assert re.fullmatch(r"a\.assets/[0-9a-f]{24}\.png", meta["cover"])
    assert all((tmp_path / "out" / p).read_bytes().startswith(b"\x89PNG") for p in [*local, meta["cover"]])
    assert sorted(meta["image_sources"].values()) == sorted(f"{server.url}/img/{n}.png" for n in (1, 2, 3))
    assert server.hits == {"/img/1.png": 1, "/img/2.png": 1, "/img/3.png": 1}
    again = run("convert", source, "-o", f"{tmp_path}/out/", "--images", "download", "--allow-private-addresses")
    assert again.returncode == 0 and (tmp_path / "out" / "a.md").read_text("utf-8") == text
    assert server.hits == {"/img/1.png": 1, "/img/2.png": 1, "/img/3.png": 1}  # a re-run fetches nothing


def test_failed_pictures_keep_their_address_and_are_reported(server, tmp_path, monkeypatch):
    failing = [f"{server.url}/missing.png", f"{server.url}/page.png", f"{server.url}/huge.png", f"{server.url}/slow.png"]
    source = tmp_path / "a.txt"
    source.write_text(article(*failing, f"{server.url}/img/5.png"))
    proc = subprocess.run([*FEED2MD, "convert", str(source), "-o", str(f"{tmp_path}/out/"), "--images", "download",
                           "--allow-private-addresses"], capture_output=True, text=True, timeout=120,
                          env={**__import__("os").environ, "FEED2MD_HTTP_TIMEOUT": "1"})
    assert proc.returncode == 0
    lines = proc.stderr.splitlines()
    assert any(f"image kept remote: {server.url}/missing.png: HTTP 404" in line for line in lines)
    assert any(f"image kept remote: {server.url}/page.png: not an image" in line for line in lines)
    assert any(f"image kept remote: {server.url}/huge.png: too large" in line for line in lines)
    assert any(f"image kept remote: {server.url}/slow.png: timed out" in line for line in lines)
    text = (tmp_path / "out" / "a.md").read_text("utf-8")
    for url in failing:
        assert f"]({url})" in text  # never a broken local link
    assert len([p for p in IMAGE.findall(text) if p.startswith("a.assets/")]) == 1


def test_private_addresses_are_refused_unless_allowed_and_on_every_redirect(server, tmp_path, monkeypatch):
    from feed2md.cli import images

    source = tmp_path / "a.txt"
    source.write_text(article(f"{server.url}/img/1.png", "http://169.254.169.254/latest/meta-data.png"))
    proc = run("convert", source, "-o", f"{tmp_path}/out/", "--images", "download")
    assert "image kept remote: " + f"{server.url}/img/1.png: refused: 127.0.0.1 is a private or local address" in proc.stderr.decode()
    assert "169.254.169.254 is a private or local address" in proc.stderr.decode()
    assert server.hits == {}
    # 127.0.0.1 taken for a public host: its redirect to localhost is still checked, and refused.
    real, real_peer = images.refuse_address, images.refuse_peer
    monkeypatch.setattr(images, "refuse_address", lambda host, allow: None if host == "127.0.0.1" else real(host, allow))
    monkeypatch.setattr(images, "refuse_peer", lambda response, host, allow: None)
    downloader = images.Downloader(tmp_path / "d", allow_private=False)
    with pytest.raises(images.ImageError, match="refused: localhost is a private or local address"):
        downloader.get(f"{server.url}/to-private.png", tmp_path / "d", images.Stats())
    assert "/img/9.png" not in server.hits
    # A name that passes the check but connects to a private address (DNS rebinding): refused
    # from the address the connection reached, before anything is read.
    monkeypatch.setattr(images, "refuse_address", lambda host, allow: None)
    monkeypatch.setattr(images, "refuse_peer", real_peer)
    with pytest.raises(images.ImageError, match="answered from a private or local address"):
        downloader.get(f"http://localhost:{server.port}/img/3.png", tmp_path / "d", images.Stats())
    assert not list((tmp_path / "d").glob("*.png"))
    downloader.close()
    with pytest.raises(images.ImageError, match="only http and https"):
        images.Downloader(tmp_path / "d", True).get("file:///etc/passwd", tmp_path / "d", images.Stats())


def test_a_picture_shared_by_two_articles_is_stored_once(server, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(article(f"{server.url}/img/7.png"))
    (src / "b.txt").write_text(article(f"{server.url}/img/7.png", f"{server.url}/img/8.png"))
    out = tmp_path / "out"
    proc = run("batch", src, "-o", out, "--images", "download", "--allow-private-addresses", "-j", "1")
    assert proc.returncode == 0, proc.stderr
    assert "feed2md: images: 2 fetched, 1 reused, 0 failed" in proc.stderr.decode()
    a, b = sorted((out / "a.assets").iterdir()), sorted((out / "b.assets").iterdir())
    shared = next(p for p in b if p.name == a[0].name)
    assert a[0].stat().st_ino == shared.stat().st_ino  # one file on disk, linked twice
    assert server.hits["/img/7.png"] == 1
    rerun = run("batch", src, "-o", out, "--images", "download", "--allow-private-addresses")
    assert rerun.stderr.decode().startswith("feed2md: 0 converted, 2 unchanged")
    assert server.hits["/img/7.png"] == 1


def _served(page: Path, public: Path) -> list[Path]:
    """The local files each <img> of a built page refers to (relative to the page)."""
    text = page.read_text("utf-8")
    paths = []
    for src in re.findall(r'<img[^>]+src="([^"]+)"', text):
        assert not src.startswith(("http://", "https://")), (page, src)  # every picture made local
        paths.append((page.parent / src).resolve() if not src.startswith("/") else public / src.lstrip("/"))
    return paths


def test_hugo_builds_the_corpus_with_its_pictures_as_page_bundles(server, tmp_path):
    matrix.require("hugo")
    site = tmp_path / "site"
    (site / "layouts" / "_default").mkdir(parents=True)
    (site / "layouts" / "_default" / "single.html").write_text("<main>{{ .Content }}</main>\n", "utf-8")
    (site / "layouts" / "_default" / "list.html").write_text("<html></html>\n", "utf-8")
    (site / "hugo.toml").write_text('baseURL = "http://example.org/"\ntitle = "corpus"\n', "utf-8")
    src = local_corpus(tmp_path, server.url)
    posts = site / "content" / "posts"
    done = run("batch", src, "-o", posts, "--target", "hugo", "--images", "download", "--allow-private-addresses", "-q")
    assert done.returncode == 0, done.stderr
    assert not list(posts.rglob("*.assets")) and len(list(posts.rglob("index.md"))) == len(list(CORPUS.glob("*/*.txt")))
    built = subprocess.run([matrix.hugo_binary(), "--source", str(site), "--logLevel", "warn"], capture_output=True, text=True)
    assert built.returncode == 0 and not re.search(r"\b(WARN|ERROR)\b", built.stdout + built.stderr), built.stderr
    pictures = [p for page in (site / "public" / "posts").rglob("index.html") for p in _served(page, site / "public")]
    assert len(pictures) > 50 and all(p.is_file() and p.read_bytes().startswith(b"\x89PNG") for p in pictures)


def test_hexo_builds_the_corpus_with_its_pictures_in_post_asset_folders(server, tmp_path):
    matrix.require("hexo5")
    site = tmp_path / "site"
    site.mkdir()
    posts = matrix.hexo_site(site)
    config = site / "_config.yml"
    config.write_text(config.read_text("utf-8") + "post_asset_folder: true\n", "utf-8")
    src = local_corpus(tmp_path, server.url)
    done = run("batch", src, "-o", posts, "--target", "hexo", "--images", "download", "--allow-private-addresses", "-q")
    assert done.returncode == 0, done.stderr
    built = matrix.build_hexo(site)
    assert built.returncode == 0 and not re.search(r"\b(WARN|ERROR)\b", built.stdout + built.stderr), built.stderr
    pages = [p for p in (site / "public").rglob("index.html") if "<main>" in p.read_text("utf-8")]
    pictures = [p for page in pages for p in _served(page, site / "public")]
    assert len(pictures) > 50 and all(p.is_file() and p.read_bytes().startswith(b"\x89PNG") for p in pictures)


def test_feed_entries_get_their_pictures_too(server, tmp_path):
    items = "".join(f"<item><title>entry {i}</title><guid>g{i}</guid><description>&lt;p&gt;x&lt;img src=\"{server.url}"
                    f"/img/{i % 2}.png\"&gt;&lt;/p&gt;</description></item>" for i in range(3))
    feed = tmp_path / "feed.xml"
    feed.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>F</title>{items}</channel></rss>')
    out = tmp_path / "posts"
    proc = run("feed", feed, "-o", out, "--images", "download", "--allow-private-addresses")
    assert proc.returncode == 0, proc.stderr
    assert "feed2md: images: 2 fetched, 1 reused, 0 failed" in proc.stderr.decode()
    for path in out.glob("*.md"):
        (local,) = IMAGE.findall(path.read_text("utf-8"))
        assert (out / local).read_bytes().startswith(b"\x89PNG")


def test_obsidian_notes_share_an_attachments_folder(server, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(article(f"{server.url}/img/7.png"))
    (src / "b.txt").write_text(article(f"{server.url}/img/7.png"))
    vault = tmp_path / "vault"
    proc = run("batch", src, "-o", vault, "--target", "obsidian", "--images", "download", "--allow-private-addresses")
    assert proc.returncode == 0, proc.stderr
    (picture,) = (vault / "attachments").iterdir()
    for note in vault.glob("*.md"):
        assert IMAGE.findall(note.read_text("utf-8")) == [f"attachments/{picture.name}"]


def test_the_same_picture_at_two_addresses_is_stored_once(server, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(article(f"{server.url}/img/4.png"))
    (src / "b.txt").write_text(article(f"{server.url}/img/4.png?size=large"))  # same bytes, other address
    out = tmp_path / "out"
    assert run("batch", src, "-o", out, "--images", "download", "--allow-private-addresses", "-j", "1").returncode == 0
    (a,), (b,) = list((out / "a.assets").iterdir()), list((out / "b.assets").iterdir())
    assert a.name == b.name and a.stat().st_ino == b.stat().st_ino
