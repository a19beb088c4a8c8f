"""Config validation: the JSON schema (snakemake.utils.validate) plus what a schema cannot say."""

from __future__ import annotations

import math
import os
from typing import Any


def _non_finite_keys(node: Any, key: str) -> list[str]:
    if isinstance(node, dict):
        return [bad for k, v in node.items() for bad in _non_finite_keys(v, f"{key}.{k}" if key else str(k))]
    if isinstance(node, list):
        return [bad for i, v in enumerate(node) for bad in _non_finite_keys(v, f"{key}[{i}]")]
    if isinstance(node, float) and not math.isfinite(node):
        return [key]
    return []


def validate_config(config: dict, schema: str | os.PathLike) -> dict:
    """Validate ``config`` against ``schema`` (filling defaults) and refuse non-finite numbers.

    JSON schema has no "finite" keyword and NaN passes every numeric bound, so ``.inf``/``.nan``
    in a YAML config are caught here, naming the key. Raises snakemake's ``WorkflowError``.
    """
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    validate(config, str(schema))
    bad = _non_finite_keys(config, "")
    if bad:
        raise WorkflowError(f"Error validating config file: config key(s) {bad}: expected a finite number")
    networks = config.get("networks")
    if networks is not None and not networks["resistances"] and not networks["ideal_baseline"]:
        raise WorkflowError(
            "Error validating config file: networks.resistances is empty and networks.ideal_baseline "
            "is false: no network would be trained; give at least one state or set ideal_baseline: true"
        )
    return config
