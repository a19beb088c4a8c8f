"""Per-rule logging: every rule script logs to its Snakemake ``log:`` file and to stderr."""

from __future__ import annotations

import logging
import os
import sys


def rule_logger(name: str, log_path: str | os.PathLike | None = None) -> logging.Logger:
    """A logger writing timestamped progress lines to ``log_path`` (if given) and stderr."""
    logger = logging.getLogger(f"fmes.{name}")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        handlers.append(logging.FileHandler(log_path, mode="w"))
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.handlers = list(handlers)
    return logger
