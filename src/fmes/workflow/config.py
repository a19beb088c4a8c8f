"""Config validation: the JSON schema (snakemake.utils.validate) plus what a schema cannot say."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

#: Config keys that are no longer read, with where their setting lives now: a config that still
#: sets one is refused with this pointer (the schema alone would only call the key unexpected).
MOVED_KEYS = {
    "calibration.check_resistances": (
        "the states of the dynamic-range check are the select: resistance_label of target "
        "dynamic_range_min in the paper targets file (calibration.targets, config/paper_targets.yaml)"
    ),
}


def _has_key(node: Any, parts: list[str]) -> bool:
    for part in parts:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def _non_finite_keys(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        return [
            bad
            for k, v in node.items()
            for bad in _non_finite_keys(v, f"{key}.{k}" if key else str(k))
        ]
    if isinstance(node, list):
        return [bad for i, v in enumerate(node) for bad in _non_finite_keys(v, f"{key}[{i}]")]
    if isinstance(node, float) and not math.isfinite(node):
        return [key]
    return []


def validate_config(config: dict, schema: str | os.PathLike) -> dict:
    """Validate ``config`` against ``schema`` (filling defaults) and refuse non-finite numbers
    and the keys of :data:`MOVED_KEYS`, saying where their setting lives now.

    JSON schema has no "finite" keyword and NaN passes every numeric bound, so ``.inf``/``.nan``
    in a YAML config are caught here, naming the key. Raises snakemake's ``WorkflowError``.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    for key, where in MOVED_KEYS.items():
        if _has_key(config, key.split(".")):
            raise WorkflowError(
                f"Error validating config file: config key {key} is no longer read: {where}; "
                "remove it from your config"
            )
    validate(config, str(schema))
    bad = _non_finite_keys(config, "")
    if bad:
        raise WorkflowError(
            f"Error validating config file: config key(s) {bad}: expected a finite number"
        )
    networks = config.get("networks")
    if networks is not None and not networks["resistances"] and not networks["ideal_baseline"]:
        raise WorkflowError(
            "Error validating config file: networks.resistances is empty and networks.ideal_baseline "
            "is false: no network would be trained; give at least one state or set ideal_baseline: true"
        )
    for section in ("networks", "adaptation"):
        settings = config.get(section)
        if settings is not None and settings["figure_seed"] not in settings["seeds"]:
            # the figures read the outputs of that seed: without it, no rule could make them
            raise WorkflowError(
                f"Error validating config file: On instance[{section!r}]: {section}.figure_seed = "
                f"{settings['figure_seed']} is not one of {section}.seeds {settings['seeds']}; "
                "the figures show one trained seed: choose one of them"
            )
    return config


# Kept here (numpy/scikit-learn-free) rather than in fmes.networks.adaptation: the workflow calls it at DAG
# build, and importing the adaptation module would load scikit-learn for every Snakemake start.
def check_digit_sets(
    dataset1: Sequence[int], dataset2: Sequence[int], key: str = "adaptation"
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Validate two digit sets (non-empty, equal size, disjoint, no repeats, digits 0-9).

    Raises ValueError naming the config key (``adaptation.dataset1`` / ``adaptation.dataset2``).
    """
    sets = {}
    for name, digits in (("dataset1", dataset1), ("dataset2", dataset2)):
        full = f"{key}.{name}"
        try:
            values = tuple(int(d) for d in digits)
        except (TypeError, ValueError):
            raise ValueError(f"{full}: expected a list of digits 0-9, got {digits!r}") from None
        if not values:
            raise ValueError(f"{full}: empty digit set; give at least one digit")
        if any(not 0 <= d <= 9 for d in values):
            raise ValueError(f"{full}: digits must be in 0-9, got {list(values)}")
        if len(set(values)) != len(values):
            raise ValueError(f"{full}: repeated digit in {list(values)}")
        sets[name] = values
    d1, d2 = sets["dataset1"], sets["dataset2"]
    if len(d1) != len(d2):
        raise ValueError(
            f"{key}.dataset1 and {key}.dataset2 must have equal size (output k is read as the k-th "
            f"digit of dataset2); got {len(d1)} and {len(d2)}"
        )
    common = sorted(set(d1) & set(d2))
    if common:
        raise ValueError(f"{key}.dataset1 and {key}.dataset2 overlap in digit(s) {common}")
    if len(d1) < 2:
        raise ValueError(f"{key}.dataset1: a classifier needs at least 2 digits, got {list(d1)}")
    return d1, d2
