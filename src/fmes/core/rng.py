"""Seeded randomness: every stochastic step draws from a child of ``config.seed``."""

from __future__ import annotations

import zlib

import numpy as np


def _key_to_int(key: object) -> int:
    # crc32, not hash(): Python's str hash is salted per process and would break determinism.
    return zlib.crc32(str(key).encode("utf-8"))


def child_seed(seed: int, *keys: object) -> np.random.SeedSequence:
    """A SeedSequence derived from ``seed`` and any wildcard values (stable across processes)."""
    return np.random.SeedSequence([int(seed), *(_key_to_int(k) for k in keys)])


def child_rng(seed: int, *keys: object) -> np.random.Generator:
    """A numpy Generator for one (seed, wildcard...) combination."""
    return np.random.default_rng(child_seed(seed, *keys))


def child_seed_int(seed: int, *keys: object) -> int:
    """One integer seed for an API that takes an ``int`` (``random_state``, a child split...),
    derived from ``seed`` and the keys as :func:`child_seed` derives its SeedSequence."""
    return int(child_seed(seed, *keys).generate_state(1)[0])
