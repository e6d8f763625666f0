"""The publishable site (``make publish``): a dated, checksummed, relocatable bundle.

:func:`publish` collects the site from ``reports/``: the landing page and every file reachable
from it by a relative link (pages, figures, the data files each page links), and nothing else
(no executed notebook, no ``params.json``). It refuses, with one line naming the page, a site

* with a broken relative link, or a link leaving the site folder;
* loading anything from the network (a ``src`` or stylesheet with a scheme or ``//``): the
  site must open offline;
* with a page the page checker flags (:mod:`analysis.report.pagecheck`);
* with a page make finds out of date (``make -q PAGE``; :func:`stale_pages`).

It writes ``dist/<name>-<data vintage>-<date>.zip`` (one folder of that name inside: the site,
its ``manifest.json`` and a ``SHA256SUMS`` of its files), the manifest beside it
(``<stem>.manifest.json``: data vintage, parameters of each report, git commit, pages, files)
and ``dist/SHA256SUMS`` of every bundle and manifest in ``dist/`` (``sha256sum -c`` format).
Each file is written atomically. With ``dest``, the site (and its manifest) is also copied into
that folder, file by file, atomically, leaving its other files alone (a static-host checkout).

Command line (the Makefile passes ``DEST`` as the environment variable ``PUBLISH_DEST``)::

    python -m analysis.report.bundle [--reports reports] [--dist dist] [--dest DIR]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from analysis import __version__, cli, config
from analysis.errors import DataError
from analysis.fileio import atomic_path, sha256_file, write_text_atomic
from analysis.report.landing import build_date
from analysis.report.pagecheck import check_page
from analysis.report.provenance import data_vintage

#: The bundle's name, first part of its file name.
NAME = "korus-trade"
#: Link attributes that load a resource (an image, a stylesheet, a script, a frame).
_LOADS = {"src", "srcset", "poster", "data"}
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


class _Links(HTMLParser):
    """The ``href``/``src`` values of one page, split into links and loaded resources."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if not value:
                continue
            stylesheet = tag == "link" and "stylesheet" in (values.get("rel") or "")
            if name in _LOADS or (name == "href" and stylesheet):
                self.loads.append(value)
            elif name == "href":
                self.links.append(value)


def _external(url: str) -> bool:
    return bool(_SCHEME.match(url)) or url.startswith("//")


def site_files(reports_dir: Path, start: str = "index.html") -> list[str]:
    """The site's files (POSIX paths under ``reports_dir``): ``start`` and every file reachable
    from it by relative links, pages followed recursively. ``DataError`` naming the page for a
    broken link, a link out of the folder, or a resource loaded from the network."""
    root = Path(reports_dir)
    if not (root / start).is_file():
        raise DataError(root / start, "no landing page: run `make all` first")
    seen: set[str] = set()
    todo = [start]
    while todo:
        rel = todo.pop()
        if rel in seen:
            continue
        seen.add(rel)
        if not rel.endswith(".html"):
            continue
        parser = _Links()
        parser.feed((root / rel).read_text(encoding="utf-8"))
        parser.close()
        for url in parser.loads:
            if url.startswith("data:"):
                continue
            if _external(url):
                raise DataError(
                    root / rel, f"loads {url!r} from the network: the site must work offline"
                )
        for url in parser.links + [u for u in parser.loads if not u.startswith("data:")]:
            if _external(url) or url.startswith("#"):
                continue
            path = unquote(urlsplit(url).path)
            if not path:
                continue
            target = PurePosixPath(os.path.normpath(PurePosixPath(rel).parent / path)).as_posix()
            if target.startswith("../") or target == ".." or path.startswith("/"):
                raise DataError(root / rel, f"link {url!r} leaves the site folder")
            if not (root / target).is_file():
                raise DataError(root / rel, f"broken link {url!r}: no {target} in the site")
            todo.append(target)
    return sorted(seen)


def page_problems(reports_dir: Path, files: Iterable[str]) -> list[str]:
    """One line per violation the page checker finds in the site's pages."""
    return [
        f"{rel}: {v}"
        for rel in files
        if rel.endswith(".html")
        for v in check_page(Path(reports_dir) / rel)
    ]


def stale_pages(pages: Iterable[str], make: Sequence[str] | None = None) -> list[str]:
    """The pages (paths as make names them) that ``make -q`` finds out of date. ``make`` is
    the command (default: ``$PUBLISH_MAKE``, else ``make``), run in the current folder."""
    cmd = list(make) if make is not None else [os.environ.get("PUBLISH_MAKE") or "make"]
    out = []
    for page in pages:
        done = subprocess.run(
            [*cmd, "--no-print-directory", "-q", "--", page],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        if done.returncode != 0:
            out.append(page)
    return out


def git_commit(root: Path) -> str | None:
    """The checkout's commit (``+dirty`` when files differ from it), or None without git."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+dirty" if dirty else head or None


def _parameters(reports_dir: Path) -> dict[str, Any]:
    """Each partner report's parameters (``reports/<slug>/params.json``)."""
    out: dict[str, Any] = {}
    for path in sorted(Path(reports_dir).glob("*/params.json")):
        try:
            out[path.parent.name] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DataError(path, f"not readable JSON ({exc})") from exc
    return out


def _sums(root: Path, files: Iterable[str]) -> str:
    return "".join(f"{sha256_file(root / f)}  {f}\n" for f in files)


def manifest(
    reports_dir: Path,
    files: Sequence[str],
    *,
    stem: str,
    vintage: dict[str, str],
    built: str,
    commit: str | None,
) -> dict[str, Any]:
    """What the bundle holds and where it comes from (written as ``manifest.json``)."""
    root = Path(reports_dir)
    return {
        "name": stem,
        "built": built,
        "korus_trade_version": __version__,
        "commit": commit,
        "data_vintage": vintage,
        "parameters": _parameters(root),
        "pages": [f for f in files if f.endswith(".html")],
        "files": {f: sha256_file(root / f) for f in files},
    }


def _zip_time(built: str) -> tuple[int, int, int, int, int, int]:
    try:
        y, m, d = (int(x) for x in built.split("-"))
        return (max(y, 1980), m, d, 0, 0, 0)
    except ValueError:
        return (1980, 1, 1, 0, 0, 0)


def _write_zip(
    target: Path, stem: str, root: Path, files: Sequence[str], extra: dict[str, str], built: str
) -> None:
    when = _zip_time(built)
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for rel in files:
            info = zipfile.ZipInfo(f"{stem}/{rel}", when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, (root / rel).read_bytes())
        for rel, text in extra.items():
            info = zipfile.ZipInfo(f"{stem}/{rel}", when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, text.encode("utf-8"))


def _copy_site(root: Path, files: Sequence[str], dest: Path, extra: dict[str, str]) -> None:
    dest = Path(dest)
    if dest.exists() and not dest.is_dir():
        raise DataError(dest, "DEST is a file, not a folder")
    here = root.resolve()
    if dest.resolve() == here or here in dest.resolve().parents:
        raise DataError(dest, "DEST must be outside the reports folder")
    for rel in files:
        with atomic_path(dest / rel) as tmp:
            shutil.copyfile(root / rel, tmp)
    for rel, text in extra.items():
        write_text_atomic(dest / rel, text)


def publish(
    reports_dir: Path,
    dist_dir: Path,
    *,
    dest: Path | None = None,
    meta_path: Path | None = None,
    name: str = NAME,
    built: str | None = None,
    commit: str | None = None,
    stale: Sequence[str] = (),
) -> Path:
    """Check the site in ``reports_dir`` and write its bundle into ``dist_dir`` (and copy it
    into ``dest``); return the zip's path. ``stale`` lists pages make found out of date
    (:func:`stale_pages`): any refuses the publication. See the module docstring."""
    root = Path(reports_dir)
    if stale:
        raise DataError(root, f"not up to date: {', '.join(stale)} (run `make all` first)")
    vintage = data_vintage(meta_path)
    if not vintage.get("last_month"):
        meta = meta_path or config.TRADE_MONTHLY_META
        raise DataError(Path(meta), "no data vintage (last_month): run `make all` first")
    files = site_files(root)
    problems = page_problems(root, files)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(root, f"a page shows what it must not: {problems[0]}{more}")
    built = built or build_date()
    stem = f"{name}-{vintage['last_month']}-{built}"
    info = manifest(root, files, stem=stem, vintage=vintage, built=built, commit=commit)
    manifest_text = json.dumps(info, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    extra = {"manifest.json": manifest_text, "SHA256SUMS": _sums(root, files)}
    dist = Path(dist_dir)
    target = dist / f"{stem}.zip"
    _write_zip(target, stem, root, files, extra, built)
    write_text_atomic(dist / f"{stem}.manifest.json", manifest_text)
    listed = sorted(p.name for p in dist.iterdir() if p.name.endswith((".zip", ".manifest.json")))
    write_text_atomic(dist / "SHA256SUMS", _sums(dist, listed))
    if dest is not None:
        _copy_site(root, files, Path(dest), {"manifest.json": manifest_text})
    return target


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m analysis.report.bundle``; returns the exit status."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.report.bundle", description="Bundle the site for publication."
    )
    ap.add_argument("--reports", type=Path, default=config.REPORTS_DIR)
    ap.add_argument("--dist", type=Path, default=config.from_root("dist"))
    ap.add_argument("--dest", type=Path, default=None, help="also copy the site into this folder")
    ap.add_argument(
        "--check-make", action="store_true", help="refuse pages that `make -q` finds out of date"
    )
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    dest = args.dest
    if dest is None and os.environ.get("PUBLISH_DEST", "").strip():
        dest = Path(os.environ["PUBLISH_DEST"])
    root = Path(args.reports)
    stale: list[str] = []
    if args.check_make and (root / "index.html").is_file():
        rel = Path(os.path.relpath(root.resolve(), Path.cwd())).as_posix()
        pages = [f"{rel}/{f}" for f in site_files(root) if f.endswith(".html")]
        stale = stale_pages(pages)
    out = publish(root, args.dist, dest=dest, commit=git_commit(config.ROOT), stale=stale)
    print(f"wrote {out} (sha256 {sha256_file(out)[:12]}); checksums in {out.parent / 'SHA256SUMS'}")
    if dest is not None:
        print(f"copied the site into {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
