"""Which library files a rule's script depends on (so code changes mark results out of date).

Snakemake reruns a rule when its own script changes, not when a module the script imports does.
The workflow therefore declares, as inputs of every rule, the ``src/fmes`` files its script
imports, directly or through other ``fmes`` modules; this module finds them by reading the
import statements (``ast``), so the lists never go stale by hand.
"""

from __future__ import annotations

import ast
import os
from functools import cache
from pathlib import Path

PACKAGE = "fmes"


def imported_modules(source_file: Path) -> frozenset[str]:
    """The ``fmes`` modules (and ``module.name`` pairs) ``source_file``'s absolute imports name,
    anywhere in the file; relative imports are not followed."""
    # one parse per file version and process: the workflow asks for ~30 closures that share most
    # of their modules, and every Snakemake start (each dry run, each cluster job) builds them all
    stat = source_file.stat()
    return _parsed_imports(str(source_file), stat.st_mtime_ns, stat.st_size)


@cache
def _parsed_imports(source_file: str, mtime_ns: int, size: int) -> frozenset[str]:
    """The ``fmes`` modules named by the import statements of ``source_file`` (the file's
    modification time and size are part of the cache key, so an edited file is parsed again)."""
    tree = ast.parse(Path(source_file).read_text(), filename=source_file)
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return frozenset(m for m in found if m == PACKAGE or m.startswith(PACKAGE + "."))


def _module_file(module: str, src_root: Path) -> Path | None:
    base = src_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None  # a name imported from a module (a function), not a module itself


def library_files(script: str | os.PathLike, src_root: str | os.PathLike) -> list[str]:
    """Sorted paths of every ``fmes`` module file ``script`` imports, transitively (including
    the ``__init__.py`` of each package on the way)."""
    src_root = Path(src_root)
    seen: set[Path] = set()
    todo = [Path(script)]
    while todo:
        current = todo.pop()
        for module in imported_modules(current):
            parts = module.split(".")
            for depth in range(1, len(parts) + 1):  # fmes, fmes.analysis, fmes.analysis.ppf
                path = _module_file(".".join(parts[:depth]), src_root)
                if path is not None and path not in seen:
                    seen.add(path)
                    todo.append(path)
    return sorted(str(p) for p in seen)
