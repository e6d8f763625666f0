"""Make dependencies derived from imports: which package files each pipeline step reads.

``python -m analysis.pipeline.deps build/deps.mk`` parses the notebooks' code cells and the
entry modules with :mod:`ast`, follows every ``analysis`` import (at any depth, lazy imports
inside functions too) and writes one make variable per step, e.g. ``DEPS_02_trends`` holds
every module that ``notebooks/02_trends.ipynb`` imports directly or indirectly, plus the
data files a module ships (templates). Editing a module then re-runs exactly the steps that
import it, and nobody keeps a list by hand. Standard library only: it runs before the
virtual environment exists.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterable
from pathlib import Path

from analysis import cli

PACKAGE = "analysis"

#: Files a module reads at run time besides Python code (folder relative to the module).
DATA_FILES: dict[str, str] = {
    "analysis.report.publish": "templates",
    "analysis.report.landing": "templates",
    "analysis.report.templating": "templates",
}


def module_file(src: Path, module: str) -> Path | None:
    """The file of dotted ``module`` under ``src`` (a module or a package's ``__init__``)."""
    base = src.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _package_of(src: Path, path: Path) -> str:
    """Dotted package that holds ``path`` (its own package for an ``__init__.py``)."""
    return ".".join(path.relative_to(src).parts[:-1])


def imported_modules(tree: ast.AST, src: Path, current_package: str = "") -> set[str]:
    """Dotted names of the ``analysis`` modules an AST imports (existing files only)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = current_package.split(".")
                pkg = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                base = ".".join([*pkg, base] if base else pkg)
            names = [base] + [f"{base}.{a.name}" for a in node.names]
        for name in names:
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            parts = name.split(".")
            # every package on the way is imported too (its __init__ runs)
            for i in range(1, len(parts) + 1):
                if module_file(src, ".".join(parts[:i])):
                    found.add(".".join(parts[:i]))
    return found


def closure(roots: Iterable[str], src: Path) -> set[str]:
    """All modules reachable by imports from ``roots``."""
    seen: set[str] = set()
    todo = [".".join(r.split(".")[:i]) for r in roots for i in range(1, r.count(".") + 2)]
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        seen.add(mod)
        path = module_file(src, mod)
        if path is None:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        todo.extend(imported_modules(tree, src, _package_of(src, path)) - seen)
    return seen


def notebook_imports(path: Path, src: Path) -> set[str]:
    """The ``analysis`` modules imported by a notebook's code cells."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        code = "".join(cell.get("source", []))
        code = "\n".join(
            line for line in code.splitlines() if not line.lstrip().startswith(("%", "!"))
        )
        found |= imported_modules(ast.parse(code, filename=str(path)), src)
    return found


def files_of(modules: Iterable[str], src: Path, root: Path) -> list[str]:
    """Paths (relative to ``root``) of the modules and the data files they ship."""
    out: set[str] = set()
    for mod in modules:
        path = module_file(src, mod)
        if path is None:
            continue
        out.add(path.relative_to(root).as_posix())
        if mod in DATA_FILES:
            folder = path.parent / DATA_FILES[mod]
            out |= {p.relative_to(root).as_posix() for p in folder.rglob("*") if p.is_file()}
    return sorted(out)


def make_text(root: Path) -> str:
    """The make fragment: ``DEPS_<notebook stem>`` and ``DEPS_<module>`` for entry modules."""
    src = root / "src"
    lines = ["# Written by `python -m analysis.pipeline.deps`; do not edit (make regenerates it)."]
    for nb in sorted((root / "notebooks").glob("*.ipynb")):
        mods = closure(notebook_imports(nb, src), src)
        lines.append(f"DEPS_{nb.stem} := " + " ".join(files_of(mods, src, root)))
    for entry in (
        "analysis.report.publish",
        "analysis.sources.acquire",
        "analysis.params",
        "analysis.clean.products",
        "analysis.clean.revisions",
    ):
        mods = closure([entry], src)
        lines.append(f"DEPS_{entry.rsplit('.', 1)[1]} := " + " ".join(files_of(mods, src, root)))
    return "\n".join(lines) + "\n"


@cli.entry_point
def main(argv: list[str] | None = None) -> int:
    """Write the make fragment to the path given (``build/deps.mk``)."""
    ap = cli.ArgumentParser(
        prog="python -m analysis.pipeline.deps",
        description="Write the make variables DEPS_<step> (the package files each step imports).",
    )
    ap.add_argument("out", type=Path, metavar="OUT.mk", help="the make fragment to write")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    root = Path.cwd()
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(make_text(root), encoding="utf-8")
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
