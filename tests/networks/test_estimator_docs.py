"""The device estimators are documented as scikit-learn's are, and their documentation is true:
numpydoc sections on each class, every constructor parameter and fitted attribute described, and
the Examples run as doctests."""

import doctest
import inspect
import re

import numpy as np
import pytest

from fmes.device.synapse import DeviceSpec
from fmes.networks import estimators as networks
from fmes.networks.estimators import DeviceMLP, DevicePerceptron

ESTIMATORS = [DevicePerceptron, DeviceMLP]


def _section(doc: str, title: str) -> str:
    """The text of numpydoc section ``title`` (up to the next underlined heading)."""
    match = re.search(rf"^\s*{title}\n\s*-+\n(.*?)(?=^\s*\w[\w ]*\n\s*-+\n|\Z)", doc, re.M | re.S)
    assert match, f"no {title} section"
    return match.group(1)


def _names(section: str) -> set[str]:
    """The entries ``name : type`` (or ``a, b : type``) of a numpydoc section."""
    names = set()
    for line in re.findall(r"^([\w, ]+) :", section, flags=re.M):
        names |= {name.strip() for name in line.split(",")}
    return names


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_each_estimator_documents_its_own_parameters(estimator):
    doc = inspect.getdoc(estimator)
    for title in ("Parameters", "Attributes", "See Also", "Examples"):
        _section(doc, title)
    assert "see the other class" not in doc.lower() and "<shared parameters>" not in doc
    assert _names(_section(doc, "Parameters")) == set(estimator().get_params())
    # the defaults the text states are the constructor's
    for name, value in estimator().get_params().items():
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            stated = re.search(rf"^{name} : .*default=(\S+)$", doc, flags=re.M)
            assert stated, name
            assert stated.group(1).strip('"') == str(value), (name, stated.group(1), value)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_documented_attributes_are_the_fitted_ones(estimator):
    X, y = np.random.default_rng(0).random((30, 6)), np.arange(30) % 3
    spec = DeviceSpec("8000", 0.1, 0.7, n_pulses=150, a_p_pulses=120.0, a_d_pulses=100.0)
    params = {"device": spec, "max_iter": 2, "random_state": 0}
    if estimator is DeviceMLP:
        params["hidden_layer_sizes"] = (4,)
    net = estimator(**params).fit(X, y)
    documented = _names(_section(inspect.getdoc(estimator), "Attributes"))
    assert {"coefs_", "synapses_", "loss_curve_", "pulse_log_", "classes_"} <= documented
    fitted = {name for name in vars(net) if name.endswith("_") and not name.startswith("_")}
    # feature_names_in_ exists only for a DataFrame with string column names
    assert documented - {"feature_names_in_"} == fitted


def test_the_examples_run_as_doctests():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    examples = 0
    for estimator in ESTIMATORS:
        for test in finder.find(estimator, estimator.__name__, module=networks):
            examples += len(test.examples)
            runner.run(test)
    results = runner.summarize(verbose=False)
    assert examples >= 10 and results.failed == 0, results
