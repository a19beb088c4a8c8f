"""Training the device networks: an estimator built from the config, the learning-rate search,
every seed fitted.

The networks stage, the claims under test and the adaptation experiment train the same way, from
here. An estimator is built from the config's ``networks.<net>`` block and update scheme
(:func:`build_network`, :func:`update_parameters`); the same ``random_state`` serves a (net,
seed) in every state and variant (:func:`network_random_state`), so those differ only through
their devices and update scheme. The networks stage searches the learning rate once per net and
state with scikit-learn's :class:`~sklearn.model_selection.GridSearchCV`
(:func:`search_learning_rate`, :func:`tune_every_state`); the claims search it inside each seed
on that seed's validation split of the training set (never the test set), on a log grid extended
while the best rate is at an edge (:func:`nested_learning_rate_runs`,
:func:`fit_every_seed`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, StratifiedShuffleSplit

from fmes.core.rng import child_seed_int
from fmes.core.status import Status
from fmes.device.synapse import DeviceSpec
from fmes.networks.adaptation import AdaptationResult, AdaptationSettings, run_adaptation
from fmes.networks.estimators import DeviceMLP, DevicePerceptron
from fmes.networks.mnist import MnistSplit

#: Columns of the networks stage's learning-rate table (:func:`tune_every_state`), in order.
LEARNING_RATE_COLUMNS = [
    "net",
    "state",
    "learning_rate",
    "validation_accuracy",
    "chosen",
    "chosen_learning_rate",
    "test_accuracy",
    "epochs",
    "mnist_source",
    "n_train",
    "status",
    "reason",
]


def network_random_state(seed: int, net: str, seed_label: int) -> int:
    """The ``random_state`` of one (net, seed) of the config ``seed``: the same in every state
    and update scheme (identical initial weights, batch order and noise streams)."""
    return child_seed_int(seed, "networks", net, seed_label)


def adaptation_random_state(seed: int, seed_label: int) -> int:
    """The seed of one adaptation run (seed label ``seed_label``) of the config ``seed``."""
    return child_seed_int(seed, "adaptation", seed_label)


def update_parameters(update: Mapping, specs: Mapping[str, DeviceSpec]) -> dict:
    """Estimator keyword arguments for an update scheme given as the config's
    ``networks.update`` block; ``specs`` gives the reference state's range for ``shared``."""
    mapping = str(update["mapping"])
    reference_range_V = None
    if mapping == "shared":
        label = str(update["reference_state"])
        if label not in specs:
            raise ValueError(
                f"config networks.update.reference_state {label!r} is not a row of "
                f"device_params (have {sorted(specs)})"
            )
        reference_range_V = specs[label].range_V
    return {
        "mapping": mapping,
        "reference_range_V": reference_range_V,
        "pulse_rule": str(update["pulse_rule"]),
        "sign_threshold_pulses": float(update["sign_threshold_pulses"]),
        "stochastic_length": int(update["stochastic_length"]),
    }


def build_network(
    net: str,
    net_params: Mapping,
    device: DeviceSpec | None,
    *,
    epochs: int,
    batch_size: int,
    w_max: float,
    random_state: int,
    update_params: Mapping | None = None,
    learning_rate: float | None = None,
) -> BaseEstimator:
    """A ``DevicePerceptron`` or ``DeviceMLP`` from the config's ``networks.<net>`` block
    (``learning_rate``, ``dtype``; for the MLP ``hidden_layer_sizes`` and ``activation``)."""
    common = dict(
        device=device,
        batch_size=int(batch_size),
        max_iter=int(epochs),
        w_max=float(w_max),
        learning_rate=float(
            net_params["learning_rate"] if learning_rate is None else learning_rate
        ),
        random_state=int(random_state),
        dtype=str(net_params["dtype"]),
        **dict(update_params or {}),
    )
    if net == "mlp":
        return DeviceMLP(
            hidden_layer_sizes=tuple(net_params["hidden_layer_sizes"]),
            activation=str(net_params["activation"]),
            **common,
        )
    if net == "perceptron":
        return DevicePerceptron(**common)
    raise ValueError(f"net must be 'perceptron' or 'mlp', got {net!r}")


def search_learning_rate(
    estimator: BaseEstimator,
    X: np.ndarray,
    y: np.ndarray,
    learning_rates: Sequence[float],
    validation_fraction: float,
    seed: int,
) -> pd.DataFrame:
    """Validation accuracy per learning rate on one stratified hold-out of the training data.

    ``GridSearchCV`` with a single :class:`~sklearn.model_selection.StratifiedShuffleSplit`
    (``validation_fraction`` of X held out); the test set never enters. Returns columns
    ``learning_rate``, ``validation_accuracy``, ``chosen`` (the best rate; ties go to the first
    in grid order, as scikit-learn ranks them).
    """
    rates = [float(r) for r in learning_rates]
    if not rates or any(not (r > 0) for r in rates):
        raise ValueError(f"learning-rate grid must be non-empty and > 0, got {learning_rates}")
    if not (0 < validation_fraction < 1):
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    split = StratifiedShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed)
    search = GridSearchCV(
        estimator, {"learning_rate": rates}, cv=split, refit=False, error_score="raise"
    )
    search.fit(X, y)
    results = search.cv_results_
    frame = pd.DataFrame(
        {
            "learning_rate": np.asarray(results["param_learning_rate"], dtype=float),
            "validation_accuracy": np.asarray(results["mean_test_score"], dtype=float),
        }
    )
    frame["chosen"] = np.arange(len(frame)) == search.best_index_
    return frame


def tune_learning_rate(
    estimator: BaseEstimator,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    learning_rates: Sequence[float],
    validation_fraction: float,
    seed: int,
) -> pd.DataFrame:
    """:func:`search_learning_rate` on the training set, then ``estimator`` retrained on all of
    it at the chosen rate and scored on the test set. The search table gains
    ``chosen_learning_rate``, ``test_accuracy`` (on the chosen row; NaN on the others) and the
    ``status``/``reason`` of :func:`learning_rate_status`."""
    frame = search_learning_rate(
        estimator, X_train, y_train, learning_rates, validation_fraction, seed
    )
    chosen = float(frame.loc[frame["chosen"], "learning_rate"].iloc[0])
    estimator.set_params(learning_rate=chosen).fit(X_train, y_train)
    test = float(estimator.score(X_test, y_test))
    status, reason = learning_rate_status(chosen, learning_rates)
    return frame.assign(
        chosen_learning_rate=chosen,
        test_accuracy=np.where(frame["chosen"], test, np.nan),
        status=str(status),
        reason=reason,
    )


def learning_rate_status(chosen: float, grid: Sequence[float]) -> tuple[Status, str]:
    """``flagged`` when the chosen learning rate is at an edge of a grid of more than one rate
    (the optimum may lie outside it), else ``ok``; with the reason."""
    if len(grid) > 1 and chosen in (min(grid), max(grid)):
        return Status.FLAGGED, "the chosen rate is at the edge of networks.lr_search.grid"
    return Status.OK, ""


def log_grid_step(
    grid: Sequence[float], key: str = "learning-rate grid"
) -> tuple[np.ndarray, float]:
    """The sorted rates of a log-spaced grid and its ratio; ``key`` names the grid in errors."""
    rates = np.sort(np.asarray([float(r) for r in grid]))
    if rates.size < 2 or not (rates > 0).all():
        raise ValueError(f"{key} must hold two or more rates > 0, got {list(grid)}")
    ratios = rates[1:] / rates[:-1]
    if not np.allclose(ratios, ratios[0], rtol=1e-3) or ratios[0] <= 1:
        raise ValueError(
            f"{key} must be log-spaced (one ratio between neighbours, e.g. 0.3162, 1, 3.162), "
            f"got {list(grid)}"
        )
    return rates, float(ratios[0])


def extend_learning_rate_search(
    score: Callable[[float], float], grid: Sequence[float], max_extensions: int
) -> pd.DataFrame:
    """Learning-rate search on a log grid, extended by the grid's log step while the best rate
    sits at an edge.

    ``score(rate)`` is the validation accuracy of one candidate (trained on a validation split
    of one seed's training data, never the test set). ``grid``: two or more rates with one
    constant ratio. While the best rate is the smallest (largest) evaluated, one rate a step
    below (above) is added, up to ``max_extensions`` times. Returns ``learning_rate``,
    ``validation_accuracy``, ``extension`` (0 for the grid, k for the k-th added rate),
    ``chosen`` (the best; ties to the smaller rate) and ``status``/``reason`` (``flagged`` when
    the chosen rate is still at an edge: the optimum may lie beyond it).
    """
    rates, step = log_grid_step(grid)
    scores = {float(r): float(score(float(r))) for r in rates}
    added: dict[float, int] = {}
    for k in range(1, int(max_extensions) + 1):
        ordered = sorted(scores)
        best = max(ordered, key=lambda r: (scores[r], -r))
        if best == ordered[0]:
            new = ordered[0] / step
        elif best == ordered[-1]:
            new = ordered[-1] * step
        else:
            break
        scores[new] = float(score(new))
        added[new] = k
    ordered = sorted(scores)
    best = max(ordered, key=lambda r: (scores[r], -r))
    at_edge = best in (ordered[0], ordered[-1])
    return pd.DataFrame(
        {
            "learning_rate": ordered,
            "validation_accuracy": [scores[r] for r in ordered],
            "extension": [added.get(r, 0) for r in ordered],
            "chosen": [r == best for r in ordered],
            "status": str(Status.FLAGGED if at_edge else Status.OK),
            "reason": (
                f"the chosen rate is at the edge of the grid after {len(added)} extension(s)"
                if at_edge
                else ""
            ),
        }
    )


@dataclass(frozen=True)
class NestedRuns:
    """Per-seed learning-rate searches and the final fits of :func:`nested_learning_rate_runs`.

    ``curves``: ``seed, learning_rate, validation_accuracy, extension, chosen, status, reason``
    (one row per seed and rate tried). ``runs``: ``seed, learning_rate, at_grid_edge,
    n_rates_tried, validation_accuracy, test_accuracy`` (one row per seed). ``correct``: bool
    ``(seeds, test images)``, True where that seed's network classified that test image
    correctly (rows in the order of ``runs``).
    """

    curves: pd.DataFrame
    runs: pd.DataFrame
    correct: np.ndarray


def _validation_scorer(
    make_estimator: Callable[[float, int, int], BaseEstimator],
    epochs: int,
    random_state: int,
    fit: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
) -> Callable[[float], float]:
    """``rate -> validation accuracy`` of a network fitted on ``fit`` at that rate."""

    def score(rate: float) -> float:
        net = make_estimator(rate, epochs, random_state)
        net.fit(*fit)
        return float(net.score(*validation))

    return score


def nested_learning_rate_runs(
    make_estimator: Callable[[float, int, int], BaseEstimator],
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    random_states: Mapping[int, int],
    grid: Sequence[float],
    *,
    validation_fraction: float,
    max_extensions: int,
    search_epochs: int,
    epochs: int,
    grid_key: str = "learning-rate grid",
) -> NestedRuns:
    """The learning rate searched inside each seed, then that seed's network fitted and tested.

    Per seed: a stratified hold-out of ``validation_fraction`` of the *training* set, drawn
    with the seed's own ``random_state``; every candidate rate is fitted for ``search_epochs``
    on the rest and scored on the hold-out, on the log ``grid`` extended while the best rate
    is at an edge (:func:`extend_learning_rate_search`, up to ``max_extensions`` added rates);
    the network is then fitted at the chosen rate for ``epochs`` on all the training data and
    only then sees the test set. The rate is part of the seed's training, so its choice varies
    from seed to seed as the network does and the interval over seeds includes it (nested
    selection: Cawley & Talbot 2010, J Mach Learn Res 11:2079).

    ``make_estimator(learning_rate, epochs, random_state)`` returns an unfitted estimator.
    ``random_states``: seed label -> random_state (network initialisation, batch order and
    the seed's validation split). ``grid_key`` names the grid in errors (a config key).
    """
    log_grid_step(grid, grid_key)
    if not (0 < validation_fraction < 1):
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    if not random_states:
        raise ValueError("random_states must name one or more seeds")
    curves, runs, correct = [], [], []
    for seed, random_state in random_states.items():
        split = StratifiedShuffleSplit(
            n_splits=1, test_size=validation_fraction, random_state=int(random_state)
        )
        fit_idx, val_idx = next(split.split(X_train, y_train))
        score = _validation_scorer(
            make_estimator,
            int(search_epochs),
            int(random_state),
            (X_train[fit_idx], y_train[fit_idx]),
            (X_train[val_idx], y_train[val_idx]),
        )
        curve = extend_learning_rate_search(score, grid, max_extensions)
        chosen = curve.loc[curve["chosen"]].iloc[0]
        net = make_estimator(float(chosen["learning_rate"]), int(epochs), int(random_state))
        net.fit(X_train, y_train)
        hits = np.asarray(net.predict(X_test) == np.asarray(y_test), dtype=bool)
        curves.append(curve.assign(seed=seed))
        correct.append(hits)
        runs.append(
            {
                "seed": seed,
                "learning_rate": float(chosen["learning_rate"]),
                "at_grid_edge": chosen["status"] == str(Status.FLAGGED),
                "n_rates_tried": len(curve),
                "validation_accuracy": float(chosen["validation_accuracy"]),
                "test_accuracy": float(hits.mean()),
            }
        )
    curves_frame = pd.concat(curves, ignore_index=True)
    first = ["seed", "learning_rate", "validation_accuracy", "extension", "chosen"]
    curves_frame = curves_frame[first + [c for c in curves_frame if c not in first]]
    return NestedRuns(curves_frame, pd.DataFrame(runs), np.vstack(correct))


@dataclass(frozen=True)
class NetworkSettings:
    """What building a net needs besides its device, rate, epochs and random state: the config's
    ``networks.<net>`` blocks (``net_params``: net -> block), ``networks.batch_size``,
    ``networks.w_max`` and the update scheme's estimator keywords (:func:`update_parameters`)."""

    net_params: Mapping[str, Mapping]
    batch_size: int
    w_max: float
    update: Mapping = field(default_factory=dict)

    def build(
        self,
        net: str,
        device: DeviceSpec | None,
        *,
        epochs: int,
        random_state: int,
        learning_rate: float | None = None,
    ) -> BaseEstimator:
        """:func:`build_network` of ``net`` on ``device`` (None: the float baseline)."""
        return build_network(
            net,
            self.net_params[net],
            device,
            epochs=epochs,
            batch_size=self.batch_size,
            w_max=self.w_max,
            random_state=random_state,
            update_params=self.update,
            learning_rate=learning_rate,
        )


@dataclass(frozen=True)
class LearningRateSearch:
    """The config's ``networks.lr_search`` block: the log grid per net, the held-out fraction
    of the training set, the epochs per candidate and the grid's extensions at an edge."""

    grid: Mapping[str, Sequence[float]]
    validation_fraction: float
    epochs: int
    max_extensions: int

    @classmethod
    def from_config(cls, section: Mapping) -> LearningRateSearch:
        """From the validated ``networks.lr_search`` section."""
        return cls(
            grid={str(net): [float(r) for r in rates] for net, rates in section["grid"].items()},
            validation_fraction=float(section["validation_fraction"]),
            epochs=int(section["epochs"]),
            max_extensions=int(section["max_extensions"]),
        )


def tune_every_state(
    settings: NetworkSettings,
    search: LearningRateSearch,
    nets: Sequence[str],
    devices: Mapping[str, DeviceSpec | None],
    split: MnistSplit,
    random_states: Mapping[str, int],
    log: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The networks stage's learning-rate search: per net and state (``devices``: state ->
    device, None for the float baseline), :func:`tune_learning_rate` on ``split``'s training
    set with the net's ``random_states[net]``. Returns :data:`LEARNING_RATE_COLUMNS`; ``log``
    receives a line per net and state."""
    frames = []
    for net_name in nets:
        for state, device in devices.items():
            seed = int(random_states[net_name])
            frame = tune_learning_rate(
                settings.build(net_name, device, epochs=search.epochs, random_state=seed),
                split.X_train,
                split.y_train,
                split.X_test,
                split.y_test,
                search.grid[net_name],
                search.validation_fraction,
                seed,
            ).assign(
                net=net_name,
                state=state,
                epochs=search.epochs,
                mnist_source=split.source,
                n_train=len(split.y_train),
            )
            if log is not None:
                validation = frame["validation_accuracy"].round(4)
                log(
                    f"{net_name} {state}: validation "
                    f"{dict(zip(frame['learning_rate'], validation, strict=True))} -> rate "
                    f"{frame['chosen_learning_rate'].iloc[0]:g}, test "
                    f"{frame.loc[frame['chosen'], 'test_accuracy'].iloc[0]:.4f}"
                )
            frames.append(frame)
    return pd.concat(frames, ignore_index=True)[LEARNING_RATE_COLUMNS]


@dataclass(frozen=True)
class StateRuns:
    """:class:`NestedRuns` of every state (:func:`fit_every_seed`).

    ``curves``: the per-seed searches with a leading ``state`` column; ``runs``: one record per
    state and seed (``state``, the :class:`NestedRuns` run columns, ``epochs``,
    ``mnist_source``); ``correct``: state -> bool ``(seeds, test images)``.
    """

    curves: pd.DataFrame
    runs: list[dict]
    correct: dict[str, np.ndarray]


def fit_every_seed(
    settings: NetworkSettings,
    search: LearningRateSearch,
    net: str,
    devices: Mapping[str, DeviceSpec],
    split: MnistSplit,
    random_states: Mapping[int, int],
    epochs: int,
    log: Callable[[str], None] | None = None,
) -> StateRuns:
    """Per state (``devices``: state -> device) and seed (``random_states``: seed label ->
    random_state), the learning rate searched inside the seed on its own validation split,
    then that seed's network fitted for ``epochs`` and tested (:func:`nested_learning_rate_runs`).
    ``log`` receives a line per state and seed."""
    curves, runs, correct = [], [], {}
    for state, device in devices.items():

        def make_net(rate: float, n_epochs: int, random_state: int, device=device):
            return settings.build(
                net, device, epochs=n_epochs, random_state=random_state, learning_rate=rate
            )

        nested = nested_learning_rate_runs(
            make_net,
            split.X_train,
            split.y_train,
            split.X_test,
            split.y_test,
            random_states,
            search.grid[net],
            validation_fraction=search.validation_fraction,
            max_extensions=search.max_extensions,
            search_epochs=search.epochs,
            epochs=int(epochs),
            grid_key=f"networks.lr_search.grid.{net}",
        )
        curves.append(nested.curves.assign(state=state))
        correct[state] = nested.correct
        for run in nested.runs.to_dict("records"):
            runs.append(
                {"state": state, **run, "epochs": int(epochs), "mnist_source": split.source}
            )
            if log is not None:
                log(
                    f"{state} seed {run['seed']}: rate {run['learning_rate']:g}"
                    f"{' at the grid edge' if run['at_grid_edge'] else ''} (validation "
                    f"{run['validation_accuracy']:.4f}), test {run['test_accuracy']:.4f}"
                )
    return StateRuns(pd.concat(curves, ignore_index=True), runs, correct)


def adapt_every_seed(
    split: MnistSplit,
    device_table: pd.DataFrame,
    settings: AdaptationSettings,
    leakage_resistance_ohm: float,
    seed: int,
    seed_labels: Sequence[int],
    update: Mapping | None = None,
    log: Callable[[str], None] | None = None,
) -> dict[int, AdaptationResult]:
    """The adaptation experiment (:func:`fmes.networks.adaptation.run_adaptation`) on ``split``
    per seed label, each with its :func:`adaptation_random_state` of the config ``seed``;
    ``update`` selects the dataset1 training's update scheme (None: the configured one)."""
    return {
        int(label): run_adaptation(
            split.X_train,
            split.y_train,
            split.X_test,
            split.y_test,
            device_table,
            settings,
            leakage_resistance_ohm=float(leakage_resistance_ohm),
            seed=adaptation_random_state(seed, int(label)),
            log=log,
            update=None if update is None else dict(update),
        )
        for label in seed_labels
    }
