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
    _log_uncaught_exceptions(logger)
    return logger


def _log_uncaught_exceptions(logger: logging.Logger) -> None:
    """Write an exception that ends the rule script into its log (with the traceback), so the
    log of a failed job says why it failed and ``snakemake --show-failed-logs`` shows it."""
    previous = sys.excepthook

    def hook(kind, value, traceback):
        if not issubclass(kind, KeyboardInterrupt):
            logger.error(
                "rule failed: %s: %s", kind.__name__, value, exc_info=(kind, value, traceback)
            )
            for handler in logger.handlers:
                handler.flush()
            if any(isinstance(h, logging.FileHandler) for h in logger.handlers):
                return  # the StreamHandler has printed it to stderr already
        previous(kind, value, traceback)

    sys.excepthook = hook
