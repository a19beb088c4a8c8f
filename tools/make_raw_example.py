"""Regenerate raw/ (the small, clearly model-generated example data set).

    python tools/make_raw_example.py

Uses the calibrated default model at three resistance states with the tiny protocol set of
.test/config/tiny.yaml, so the example has every protocol of the contract in a few hundred kB.
"""

from pathlib import Path

import yaml

from fmes.data.targets import load_targets
from fmes.data.traces import write_dataset
from fmes.device import calibration, synthetic

ROOT = Path(__file__).resolve().parents[1]
config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
tiny = yaml.safe_load((ROOT / ".test/config/tiny.yaml").read_text())
targets = load_targets(ROOT / "config/paper_targets.yaml")
fit = calibration.calibrate_from_config(config, targets)
campaign = synthetic.nominal_campaign(
    fit.params,
    tiny["resistances"],
    tiny["protocols"],
    synthetic.Noise(**config["device"]["noise"]),
    seed=config["seed"],
)
# the note of raw/manifest.csv as committed (the tiny config lived in config/ then), kept word for
# word so that regenerating raw/ gives the same bytes
campaign.manifest["note"] = (
    "MODEL-GENERATED example (fmes synthetic model, config/tiny.yaml protocols), not a measurement"
)
write_dataset(campaign.manifest, campaign.traces, ROOT / "raw")
print(f"wrote {len(campaign.manifest)} traces to {ROOT / 'raw'}")
