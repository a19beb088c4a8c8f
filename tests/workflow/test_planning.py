"""fmes.workflow.planning.require_usable_state: a job refuses a non-ok device state unless allowed."""

from __future__ import annotations

import pandas as pd
import pytest

from fmes.workflow.planning import require_usable_state

PARAMS = pd.DataFrame(
    {
        "resistance_label": ["500", "open"],
        "status": ["ok", "flagged"],
        "reason": ["", "A on its bound"],
    }
)


def _gate(state: str, allow: bool, warnings: list[str]) -> tuple[str, str]:
    return require_usable_state(
        PARAMS,
        state,
        allow_non_ok=allow,
        allow_key="networks.allow_non_ok_states",
        source="device_params.csv",
        warn=warnings.append,
    )


def test_an_ok_state_passes_silently():
    warnings: list[str] = []
    assert _gate("500", False, warnings) == ("ok", "")
    assert warnings == []


def test_a_non_ok_state_is_refused_naming_file_state_and_config_key():
    with pytest.raises(ValueError, match=r"device_params.csv.*open are flagged \(A on its bound\)"):
        _gate("open", False, [])
    with pytest.raises(ValueError, match="networks.allow_non_ok_states: true"):
        _gate("open", False, [])


def test_an_allowed_non_ok_state_is_used_with_a_warning_and_keeps_its_status():
    warnings: list[str] = []
    assert _gate("open", True, warnings) == ("flagged", "A on its bound")
    assert len(warnings) == 1 and "networks.allow_non_ok_states is true" in warnings[0]


def test_a_state_without_parameters_is_an_error():
    with pytest.raises(ValueError, match=r"no row for resistance_label '8000'"):
        _gate("8000", True, [])
