"""Device-constrained classifiers with scikit-learn conventions.

``DevicePerceptron`` (one layer, inputs -> classes) and ``DeviceMLP`` (784-100-10 by default)
train by mini-batch SGD on softmax cross-entropy. With ``device=None`` they are the ideal
floating-point baseline. With a :class:`fmes.device.synapse.DeviceSpec` every weight lives in a
simulated device (see :mod:`fmes.device.synapse`): back-propagation gives the desired change
``-learning_rate x gradient``, which becomes a signed number of identical pulses, and each pulse
moves the state along that resistance state's fitted LTP/LTD curve, with cycle-to-cycle noise,
per-device spread and hard bounds ``[-w_max, w_max]``. Biases stay in floating point: NeuroSim's
MLP has none, and a per-neuron bias sits in the peripheral circuit, not in the crossbar.

Everything is vectorised over the mini-batch and the weight matrices. ``fit`` runs exactly
``max_iter`` epochs (no early stopping, so accuracy-vs-epoch curves of all resistance states are
comparable) and equals a fresh ``partial_fit`` called ``max_iter`` times.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data

from fmes.core.rng import child_rng
from fmes.core.status import Status
from fmes.device.energy import PulseLog
from fmes.device.synapse import (
    MAPPINGS,
    PULSE_RULES,
    WEIGHT_REFERENCES,
    DeviceSpec,
    SynapseArray,
    SynapseStack,
    check_update_scheme,
)
from fmes.networks.inference import evaluate_accuracy

_ACTIVATIONS = ("sigmoid", "relu", "tanh")
# floating-point types of the weights, device states and activations (``dtype``)
_DTYPES = ("float64", "float32")


def _softmax_inplace(z: np.ndarray) -> np.ndarray:
    # the ufuncs' reduce directly: what z.max / z.sum call, without their Python wrappers
    z -= np.maximum.reduce(z, axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= np.add.reduce(z, axis=1, keepdims=True)
    return z


def _nonzero_columns(X: np.ndarray, work: np.ndarray | None = None) -> np.ndarray:
    """Ascending indices of the columns of ``X`` that hold a nonzero value (``work``: an
    optional bool array of at least ``X.size`` elements for the comparison).

    Comparing first and reducing the booleans is about twice as fast as reducing the floats
    (``np.logical_or.reduce(X)`` converts every element on the way).
    """
    nonzero = np.not_equal(X, 0, out=None if work is None else work[: X.size].reshape(X.shape))
    return np.flatnonzero(np.logical_or.reduce(nonzero, axis=0))


class _DeviceNetwork(ClassifierMixin, BaseEstimator):
    """Shared training machinery; subclasses define ``__init__`` and ``_hidden_sizes``."""

    # scikit-learn's constraint machinery checks these on fit and on the first partial_fit
    # (``_fit_context``); what one constraint cannot say (the mapping 'shared' needs a
    # reference range) is checked by ``_check_update_scheme``.
    _parameter_constraints: dict = {
        "device": [DeviceSpec, None],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "w_max": [Interval(Real, 0, None, closed="neither")],
        "mapping": [StrOptions(set(MAPPINGS))],
        "reference_range_V": [Interval(Real, 0, None, closed="neither"), None],
        "pulse_rule": [StrOptions(set(PULSE_RULES))],
        "sign_threshold_pulses": [Interval(Real, 0, None, closed="left")],
        "stochastic_length": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state", np.random.Generator],
        "retention_tau_s": [Interval(Real, 0, None, closed="neither"), None],
        "update_period_s": [Interval(Real, 0, None, closed="neither")],
        "retention_reference": [StrOptions(set(WEIGHT_REFERENCES))],
        "dtype": [StrOptions(set(_DTYPES))],
    }

    # --- configuration -------------------------------------------------------------------
    def _hidden_sizes(self) -> tuple[int, ...]:
        raise NotImplementedError

    def _activation_name(self) -> str:
        return "sigmoid"

    def _check_update_scheme(self) -> None:
        """The checks the per-parameter constraints cannot express (run after them)."""
        sizes = self._hidden_sizes()
        if not all(isinstance(h, Integral) and h >= 1 for h in sizes):
            raise ValueError(f"hidden_layer_sizes must be whole numbers >= 1, got {sizes!r}")
        scheme = self._update_scheme()
        if self.device is None:  # float weights: no device range to map, any reference will do
            scheme["reference_range_V"] = 1.0
        check_update_scheme(**scheme)

    def _update_scheme(self) -> dict:
        """The update-scheme parameters, as :class:`fmes.device.synapse.SynapseArray` takes them."""
        return {
            "mapping": self.mapping,
            "pulse_rule": self.pulse_rule,
            "reference_range_V": self.reference_range_V,
            "sign_threshold_pulses": self.sign_threshold_pulses,
            "stochastic_length": self.stochastic_length,
        }

    def _float(self) -> np.dtype:
        """The floating-point type of weights and activations: the fitted weights' own once
        fitted (a later change of ``dtype`` takes effect at the next ``fit``), else ``dtype``."""
        coefs = getattr(self, "coefs_", None)
        return coefs[0].dtype if coefs else np.dtype(self.dtype)

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.SeedSequence().entropy % (2**63))
        if isinstance(rs, np.random.RandomState):
            return int(rs.randint(2**31 - 1))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**63 - 1))
        return int(rs)

    # --- state -------------------------------------------------------------------------------
    def _initialize(self, n_features: int, n_outputs: int) -> None:
        self._check_update_scheme()
        seed = self._seed()
        init_rng = child_rng(seed, "init")
        device_rng = child_rng(seed, "device-to-device")
        self._shuffle_rng = child_rng(seed, "shuffle")
        self._noise_rng = child_rng(seed, "cycle-to-cycle")
        sizes = [n_features, *(int(h) for h in self._hidden_sizes()), n_outputs]
        dtype = np.dtype(self.dtype)
        gain = 2.0 if self._activation_name() == "sigmoid" else 1.0
        self.coefs_, self.intercepts_, self.synapses_ = [], [], []
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            # Glorot-uniform (sklearn's MLP init): the devices are programmed to these states.
            bound = np.sqrt(gain * 6.0 / (fan_in + fan_out))
            w = init_rng.uniform(-bound, bound, size=(fan_in, fan_out))
            if self.device is not None:
                syn = SynapseArray(
                    self.device,
                    (fan_in, fan_out),
                    self.w_max,
                    device_rng,
                    **self._update_scheme(),
                )
                w = syn.program(w)
                self.synapses_.append(syn)
            # drawn in float64 (the same initial weights in either dtype, to rounding)
            self.coefs_.append(np.ascontiguousarray(w, dtype=dtype))
            self.intercepts_.append(np.zeros(fan_out, dtype=dtype))
        # programming pulses per layer and epoch (fmes.device.energy.PulseLog), device mode only
        self.pulse_log_ = PulseLog(len(self.coefs_)) if self.device is not None else None
        if self.device is not None:
            # every layer's devices in one flat state, updated together (SynapseStack)
            self._stack = SynapseStack(self.synapses_)
            self._bind_device_state()
            # the layers' desired changes, last layer first (the order of the update)
            self._change = np.empty(self._stack.size, dtype=dtype)
        else:
            self._grad_buffers = [np.empty_like(w) for w in self.coefs_]
        self._buffers = {}
        self.initial_coefs_ = [w.copy() for w in self.coefs_]
        self.initial_intercepts_ = [b.copy() for b in self.intercepts_]
        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []

    def _label_columns(self, y: np.ndarray) -> np.ndarray:
        """The column of ``classes_`` of each label (the one-hot position), as intp."""
        idx = np.searchsorted(self.classes_, y)
        if np.any(idx >= len(self.classes_)) or np.any(
            self.classes_[np.minimum(idx, len(self.classes_) - 1)] != y
        ):
            unknown = np.setdiff1d(np.unique(y), self.classes_)
            raise ValueError(
                f"y contains labels {unknown.tolist()} not in classes {self.classes_.tolist()}"
            )
        return idx.astype(np.intp)

    def _bind_device_state(self) -> None:
        """Make ``coefs_`` views of one flat device state (``_device_state``), the layout
        :class:`fmes.device.synapse.SynapseStack` updates; a no-op when they already are. Runs before
        every epoch: after unpickling, or when a layer was assigned a new array, the current
        weights are copied into a new flat state."""
        views = getattr(self, "_coef_views", None)
        state = getattr(self, "_device_state", None)
        if (
            views is not None
            and len(views) == len(self.coefs_)
            and all(w is v and v.base is state for w, v in zip(self.coefs_, views, strict=True))
        ):
            return
        dtype = self._float()
        state = np.concatenate([np.asarray(w, dtype=dtype).reshape(-1) for w in self.coefs_])
        self._device_state = state
        self.coefs_ = self._stack.layer_views(state)
        self._coef_views = list(self.coefs_)

    def _step_buffers(self, n: int) -> dict[str, list[np.ndarray]]:
        """Work arrays of a mini-batch of ``n`` samples, kept across steps (no allocation per
        step): per layer its output ``z`` and bias gradient, per hidden layer the
        back-propagated error and a temporary, the batch's picked probabilities, and (device
        mode) the first layer's inputs that are nonzero in the batch and their test."""
        if n not in self._buffers:
            widths = [w.shape[1] for w in self.coefs_]
            dtype = self._float()
            self._buffers[n] = {
                "z": [np.empty((n, m), dtype) for m in widths],
                "grad_b": [np.empty(m, dtype) for m in widths],
                "delta": [np.empty((n, m), dtype) for m in widths[:-1]],
                "tmp": [np.empty((n, m), dtype) for m in widths[:-1]],
                "loss": [np.empty(n, dtype)],
                # the first layer's inputs that are nonzero in the batch, and its test
                "inputs": [np.empty(n * self.coefs_[0].shape[0], dtype)],
                "nonzero": [np.empty(n * self.coefs_[0].shape[0], dtype=bool)],
                # float32: the first layer's weight rows of those inputs (forward product)
                "weight_rows": [np.empty(self.coefs_[0].size if dtype == np.float32 else 0, dtype)],
            }
        return self._buffers[n]

    # --- maths ---------------------------------------------------------------------------
    def _hidden_act(self, z: np.ndarray) -> np.ndarray:
        name = self._activation_name()
        if name == "sigmoid":
            return expit(z, out=z)
        if name == "relu":
            return np.maximum(z, 0.0, out=z)
        return np.tanh(z, out=z)

    def _hidden_grad(self, delta: np.ndarray, a: np.ndarray, tmp: np.ndarray) -> None:
        """Multiply ``delta`` in place by the activation derivative written in terms of ``a``
        (``tmp``: a work array of the same shape)."""
        name = self._activation_name()
        if name == "sigmoid":  # a (1 - a)
            np.subtract(1.0, a, out=tmp)
            tmp *= a
            delta *= tmp
        elif name == "relu":
            delta *= a > 0
        else:  # 1 - a^2
            np.multiply(a, a, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            delta *= tmp

    def _forward(self, X: np.ndarray, coefs=None, intercepts=None) -> list[np.ndarray]:
        coefs = self.coefs_ if coefs is None else coefs
        intercepts = self.intercepts_ if intercepts is None else intercepts
        acts = [X]
        last = len(coefs) - 1
        for i, (w, b) in enumerate(zip(coefs, intercepts, strict=True)):
            z = acts[-1] @ w
            z += b
            acts.append(_softmax_inplace(z) if i == last else self._hidden_act(z))
        return acts

    def _sgd_step(self, X: np.ndarray, label_pos: np.ndarray) -> float:
        """One SGD step on the mini-batch ``X`` (C-contiguous); ``label_pos`` holds the flat
        position of each sample's own class in the (samples, classes) output (row x classes +
        column). Returns the summed cross-entropy of the batch (before the step)."""
        n = X.shape[0]
        buffers = self._step_buffers(n)
        device = self.device is not None
        first_rows, first_inputs = None, X
        if device:
            # Pixels that are zero across the batch (MNIST's borders) have exactly zero
            # gradient rows, so none of their devices can get a pulse: the first layer's
            # gradient product and the device update run on the other rows only (the same dot
            # products, bit for bit), with those inputs gathered once.
            first_rows = _nonzero_columns(X, buffers["nonzero"][0])
            if first_rows.size == X.shape[1]:
                first_rows = None
            else:  # into a buffer kept across steps (C order, as take returns it)
                first_inputs = buffers["inputs"][0][: n * first_rows.size]
                first_inputs = first_inputs.reshape(n, first_rows.size)
                X.take(first_rows, axis=1, out=first_inputs, mode="clip")  # valid indices
        acts = [X]
        last = len(self.coefs_) - 1
        for i, (w, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            if i == 0 and first_rows is not None and w.dtype == np.float32:
                # float32: the forward product skips the zero inputs too (about 40 % less
                # work; the sums skip exact zeros, so only their grouping, not their terms,
                # changes; float64 keeps the full product, its recorded arithmetic)
                w_rows = buffers["weight_rows"][0][: first_rows.size * w.shape[1]]
                w_rows = w_rows.reshape(-1, w.shape[1])
                w.take(first_rows, axis=0, out=w_rows, mode="clip")
                z = np.matmul(first_inputs, w_rows, out=buffers["z"][i])
            else:
                z = np.matmul(acts[-1], w, out=buffers["z"][i])
            z += b
            acts.append(_softmax_inplace(z) if i == last else self._hidden_act(z))
        delta = acts[-1]
        proba = delta.reshape(-1)
        picked = proba.take(label_pos)  # the probability of each sample's own class
        log_picked = np.maximum(picked, 1e-12, out=buffers["loss"][0])
        loss = -float(np.log(log_picked, out=log_picked).sum())
        # delta = (proba - onehot) / n, in place: p - 0 = p exactly elsewhere
        picked -= 1.0
        proba[label_pos] = picked
        delta /= n
        lr = self.learning_rate
        layers, layer_rows, used = [], [], 0
        for i in range(last, -1, -1):
            grad_b = np.add.reduce(delta, axis=0, out=buffers["grad_b"][i])
            fan_in, fan_out = self.coefs_[i].shape
            rows = first_rows if i == 0 else None
            if device:  # the gradient goes straight into the update's change buffer
                size = (fan_in if rows is None else rows.size) * fan_out
                grad_w = self._change[used : used + size].reshape(-1, fan_out)
                used += size
                layers.append(i)
                layer_rows.append(rows)
            else:  # into a buffer kept across steps: no weight-sized allocation per step
                grad_w = self._grad_buffers[i]
            inputs = first_inputs if i == 0 else acts[i]
            np.matmul(inputs.T, delta, out=grad_w)
            if i > 0:  # back-propagate through the weights as they were in the forward pass
                delta = np.matmul(delta, self.coefs_[i].T, out=buffers["delta"][i - 1])
                self._hidden_grad(delta, acts[i], buffers["tmp"][i - 1])
            grad_b *= lr
            self.intercepts_[i] -= grad_b
            if not device:
                grad_w *= lr
                self.coefs_[i] -= grad_w
        if device:
            # the desired change -lr x gradient of every layer, converted to pulses by the
            # devices in one update (last layer first: the order of the noise draws)
            counts, bounds = self._stack.update_from_changes(
                self._device_state, self._change[:used], layers, layer_rows, -lr, self._noise_rng
            )
            self.pulse_log_.add_segments(counts, bounds, layers)
            if self.retention_tau_s is not None:
                # time-stamped training: the next update comes update_period_s later, and
                # meanwhile every device relaxes by its state's retention (off: untouched)
                decay = math.exp(-self.update_period_s / self.retention_tau_s)
                self._stack.relax_inplace(self._device_state, decay, self.retention_reference)
        return loss

    def _epoch(self, X: np.ndarray, labels: np.ndarray) -> None:
        n = X.shape[0]
        if self.device is not None:
            self._bind_device_state()
        order = self._shuffle_rng.permutation(n) if self.shuffle else None
        batch = min(self.batch_size, n)
        n_classes = len(self.classes_)
        # each sample's row within its mini-batch, x classes: + label = its flat output position
        row_offsets = np.arange(batch) * n_classes
        if order is not None:
            # Each shuffled mini-batch is gathered with one ``take`` into one buffer kept across
            # steps (several times faster than a fancy index): a buffer of one batch stays in
            # cache for the step's products, where a larger block would not.
            buffer = np.empty((batch, X.shape[1]), dtype=X.dtype)
        total = 0.0
        for start in range(0, n, batch):
            if order is None:
                X_batch = X[start : start + batch]
                labels_batch = labels[start : start + batch]
            else:
                picked = order[start : start + batch]
                # mode="clip" writes straight into the buffer ("raise" copies once more); the
                # indices are a permutation, always in range
                X_batch = X.take(picked, axis=0, out=buffer[: picked.size], mode="clip")
                labels_batch = labels.take(picked)
            label_pos = labels_batch + row_offsets[: labels_batch.size]
            total += self._sgd_step(X_batch, label_pos)
        self.loss_curve_.append(total / n)
        if self.pulse_log_ is not None:
            self.pulse_log_.close_epoch()
        self.n_iter_ += 1
        self.t_ += n

    # --- public API ----------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Train from scratch for ``max_iter`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs (MNIST: pixel intensities scaled to [0, 1]).
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The trained network.
        """
        X, y = validate_data(self, X, y, dtype=np.dtype(self.dtype), reset=True)
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        self._check_n_classes()
        self._initialize(X.shape[1], len(self.classes_))
        labels = self._label_columns(y)
        for _ in range(self.max_iter):
            self._epoch(X, labels)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None):
        """One epoch over (X, y), continuing from the current weights (device states).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training inputs.
        y : array-like of shape (n_samples,)
            Class labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the problem; required on the first call (which initialises the
            network, as ``fit`` does), and if given later it must equal ``classes_``.

        Returns
        -------
        self : object
            The network after one more epoch.
        """
        first = not hasattr(self, "coefs_")
        X, y = validate_data(self, X, y, dtype=self._float(), reset=first)
        check_classification_targets(y)
        if first:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self.classes_ = unique_labels(classes)
            self._check_n_classes()
            self._initialize(X.shape[1], len(self.classes_))
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"classes={np.asarray(classes).tolist()} differs from the first call's "
                f"{self.classes_.tolist()}"
            )
        self._epoch(X, self._label_columns(y))
        return self

    def _check_n_classes(self) -> None:
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 classes; got 1 class "
                f"({self.classes_.tolist()})"
            )

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities (softmax output) of ``X``, shape (n_samples, n_classes), columns
        ordered as ``classes_``."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, dtype=self._float(), reset=False)
        return self._forward(X)[-1]

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample of ``X``, shape (n_samples,)."""
        check_is_fitted(self, "coefs_")
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score_initial(self, X, y) -> float:
        """Accuracy of the network as initialised (before any update), for Fig 4d."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, dtype=self._float(), reset=False)
        proba = self._forward(X, self.initial_coefs_, self.initial_intercepts_)[-1]
        return float(np.mean(self.classes_[np.argmax(proba, axis=1)] == np.asarray(y)))

    def evaluate_at(
        self,
        X,
        y,
        time_s: float = 0.0,
        inference=None,
        read_noise: bool = False,
        adc_bits: int | None = None,
        random_state=None,
    ) -> float:
        """Test accuracy ``time_s`` after training, the devices relaxing by their retention,
        with optional read noise and an output ADC (:mod:`fmes.networks.inference`; ``inference`` is
        the state's :class:`fmes.networks.inference.InferenceDevice`)."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        rng = np.random.default_rng(random_state)
        return evaluate_accuracy(self, X, y, time_s, inference, read_noise, adc_bits, rng)

    def device_states_V(self, initial: bool = False) -> list[np.ndarray]:
        """Per layer, the device states as PSV (volt), shaped as ``coefs_``; ``initial=True``
        for the programmed states before training. Device mode only (ValueError otherwise)."""
        check_is_fitted(self, "coefs_")
        if self.device is None:
            raise ValueError("device_states_V needs device mode (device is None)")
        coefs = self.initial_coefs_ if initial else self.coefs_
        return [syn.to_volts(w) for syn, w in zip(self.synapses_, coefs, strict=True)]


# The parameters and attributes both estimators share; each class docstring names its own
# extra ones and gets these spliced in where it says "<shared parameters>"/"<attributes>"
# (one text for both, as the classes share the code).
_SHARED_PARAMETERS_DOC = """device : DeviceSpec or None, default=None
        Fitted parameters of one resistance state (:class:`fmes.device.synapse.DeviceSpec`); None
        trains ideal floating-point weights.
    learning_rate : float, default=%(learning_rate)s
        SGD step on the softmax cross-entropy (mean over the mini-batch); > 0.
    batch_size : int, default=32
        Mini-batch size (>= 1; capped at the number of samples).
    max_iter : int, default=20
        Number of epochs ``fit`` runs (exactly; no early stopping).
    w_max : float, default=1.0
        Weight mapped onto the device's upper bound (the lower bound maps to -w_max); > 0.
    mapping : {"per_state", "shared"}, default="per_state"
        Volts-to-weight mapping: each state's range onto [-w_max, w_max], or one scale for all
        states set by ``reference_range_V`` (see :mod:`fmes.device.synapse`).
    reference_range_V : float or None, default=None
        G_max - G_min (volt) of the reference state that maps onto [-w_max, w_max]; required
        (> 0) with ``mapping="shared"`` in device mode.
    pulse_rule : {"proportional", "sign", "stochastic"}, default="proportional"
        How a desired weight change becomes pulses (see :mod:`fmes.device.synapse`).
    sign_threshold_pulses : float, default=0.5
        ``sign`` rule: a device gets one pulse where |dW| reaches this many nominal steps.
    stochastic_length : int, default=10
        ``stochastic`` rule: length BL of the Bernoulli pulse streams (at most BL pulses).
    shuffle : bool, default=True
        Reshuffle the samples every epoch.
    random_state : int, RandomState, Generator or None, default=None
        Seeds the initial weights, the device-to-device spread, the shuffling and the pulse
        noise (independent child streams of one seed, :func:`fmes.core.rng.child_rng`).
    retention_tau_s : float or None, default=None
        Device mode: decay between updates (time-stamped training). Each mini-batch update
        comes ``update_period_s`` after the previous one and meanwhile every device relaxes
        towards 0 V with this retention τ (:meth:`fmes.device.synapse.SynapseArray.relax`). None:
        no decay during training (the arithmetic of training without it, bit for bit).
    update_period_s : float, default=0.5
        Time between two updates with ``retention_tau_s`` (the LTP/LTD pulse period, 2 Hz).
    retention_reference : {"differential", "decaying", "fixed"}, default="differential"
        What the weights are read against as the devices relax (``inference.reference``).
    dtype : {"float64", "float32"}, default="float64"
        Floating-point type of the weights (device states), biases, inputs and activations.
        ``float32`` halves the memory traffic of the matrix products (faster training, test
        accuracy within seed noise of ``float64``); the pulse rule and the device curves still
        compute in float64 on the few pulsed devices."""

_ATTRIBUTES_DOC = """classes_ : ndarray of shape (n_classes,)
        Class labels seen by ``fit`` (or passed to the first ``partial_fit``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Feature names seen during ``fit``, when ``X`` has string column names.
    coefs_ : list of ndarray
        Weight matrix of each layer, shape (fan_in, fan_out); in device mode the weights the
        devices hold.
    intercepts_ : list of ndarray
        Bias vector of each layer (floating point also in device mode).
    initial_coefs_, initial_intercepts_ : list of ndarray
        The weights and biases as initialised (programmed), before any update.
    synapses_ : list of SynapseArray
        Device mode: the simulated device array of each layer
        (:class:`fmes.device.synapse.SynapseArray`); empty with ``device=None``.
    pulse_log_ : PulseLog or None
        Device mode: programming pulses per layer and epoch (:class:`fmes.device.energy.PulseLog`);
        None with ``device=None``.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    n_iter_ : int
        Number of epochs run.
    t_ : int
        Number of training samples seen."""


def _fill_doc(cls: type, **values: str) -> type:
    """Splice the shared parameter and attribute descriptions into ``cls.__doc__``."""
    cls.__doc__ = cls.__doc__.replace(
        "<shared parameters>", _SHARED_PARAMETERS_DOC % values
    ).replace("<attributes>", _ATTRIBUTES_DOC)
    return cls


class DevicePerceptron(_DeviceNetwork):
    """Single-layer network (inputs -> classes, softmax) trained through device synapses.

    Mini-batch SGD on the softmax cross-entropy; each weight lives in a simulated device when
    ``device`` is given (see the module docstring).

    Parameters
    ----------
    <shared parameters>

    Attributes
    ----------
    <attributes>

    See Also
    --------
    DeviceMLP : the same training with hidden layers.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fmes.networks.estimators import DevicePerceptron
    >>> from fmes.device.synapse import DeviceSpec
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> ideal = DevicePerceptron(max_iter=5, random_state=0).fit(X, y)
    >>> spec = DeviceSpec("8000", 0.1, 0.7, n_pulses=150, a_p_pulses=120.0, a_d_pulses=100.0)
    >>> device = DevicePerceptron(device=spec, max_iter=5, random_state=0).fit(X, y)
    >>> [w.shape for w in device.coefs_], len(device.loss_curve_)
    ([(64, 10)], 5)
    >>> bool(device.score(X, y) > 0.8)
    True
    """

    def __init__(
        self,
        device: DeviceSpec | None = None,
        learning_rate: float = 0.1,
        batch_size: int = 32,
        max_iter: int = 20,
        w_max: float = 1.0,
        mapping: str = "per_state",
        reference_range_V: float | None = None,
        pulse_rule: str = "proportional",
        sign_threshold_pulses: float = 0.5,
        stochastic_length: int = 10,
        shuffle: bool = True,
        random_state=None,
        retention_tau_s: float | None = None,
        update_period_s: float = 0.5,
        retention_reference: str = "differential",
        dtype: str = "float64",
    ) -> None:
        self.device = device
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.w_max = w_max
        self.mapping = mapping
        self.reference_range_V = reference_range_V
        self.pulse_rule = pulse_rule
        self.sign_threshold_pulses = sign_threshold_pulses
        self.stochastic_length = stochastic_length
        self.shuffle = shuffle
        self.random_state = random_state
        self.retention_tau_s = retention_tau_s
        self.update_period_s = update_period_s
        self.retention_reference = retention_reference
        self.dtype = dtype

    def _hidden_sizes(self) -> tuple[int, ...]:
        return ()


class DeviceMLP(_DeviceNetwork):
    """Multi-layer perceptron (784-100-10 on MNIST by default) trained through device synapses.

    Mini-batch SGD on the softmax cross-entropy, back-propagated through the hidden layers;
    each weight lives in a simulated device when ``device`` is given (see the module
    docstring). The output layer is softmax.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Number of neurons of each hidden layer (each >= 1).
    activation : {"sigmoid", "relu", "tanh"}, default="sigmoid"
        Activation of the hidden layers.
    <shared parameters>

    Attributes
    ----------
    <attributes>

    See Also
    --------
    DevicePerceptron : the same training without hidden layers.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from fmes.networks.estimators import DeviceMLP
    >>> from fmes.device.synapse import DeviceSpec
    >>> X, y = load_digits(return_X_y=True)
    >>> X = X / 16.0
    >>> spec = DeviceSpec("8000", 0.1, 0.7, n_pulses=150, a_p_pulses=120.0, a_d_pulses=100.0)
    >>> net = DeviceMLP(device=spec, hidden_layer_sizes=(32,), max_iter=5, random_state=0)
    >>> net = net.fit(X, y)
    >>> [w.shape for w in net.coefs_], len(net.synapses_)
    ([(64, 32), (32, 10)], 2)
    >>> net.pulse_log_ is not None
    True
    """

    _parameter_constraints: dict = {
        **_DeviceNetwork._parameter_constraints,
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_ACTIVATIONS))],
    }

    def __init__(
        self,
        device: DeviceSpec | None = None,
        hidden_layer_sizes: tuple[int, ...] = (100,),
        activation: str = "sigmoid",
        learning_rate: float = 1.0,
        batch_size: int = 32,
        max_iter: int = 20,
        w_max: float = 1.0,
        mapping: str = "per_state",
        reference_range_V: float | None = None,
        pulse_rule: str = "proportional",
        sign_threshold_pulses: float = 0.5,
        stochastic_length: int = 10,
        shuffle: bool = True,
        random_state=None,
        retention_tau_s: float | None = None,
        update_period_s: float = 0.5,
        retention_reference: str = "differential",
        dtype: str = "float64",
    ) -> None:
        self.device = device
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.w_max = w_max
        self.mapping = mapping
        self.reference_range_V = reference_range_V
        self.pulse_rule = pulse_rule
        self.sign_threshold_pulses = sign_threshold_pulses
        self.stochastic_length = stochastic_length
        self.shuffle = shuffle
        self.random_state = random_state
        self.retention_tau_s = retention_tau_s
        self.update_period_s = update_period_s
        self.retention_reference = retention_reference
        self.dtype = dtype

    def _hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        return (sizes,) if np.isscalar(sizes) else tuple(sizes)

    def _activation_name(self) -> str:
        return self.activation


_fill_doc(DevicePerceptron, learning_rate="0.1")
_fill_doc(DeviceMLP, learning_rate="1.0")


def train_with_curve(
    net: _DeviceNetwork,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    n_epochs: int,
    on_epoch: Callable[[int, float, float, float], None] | None = None,
) -> tuple[_DeviceNetwork, pd.DataFrame]:
    """Train a fresh copy of ``net`` epoch by epoch; the trained network and its tidy
    accuracy per epoch (epoch 0 = initial).

    ``net`` itself is left untouched: its parameters are copied with
    :func:`sklearn.base.clone` (as scikit-learn's model selection does), so the result equals
    ``clone(net).set_params(max_iter=n_epochs).fit(X_train, y_train)`` (same random streams),
    but train/test accuracy and training loss are recorded after every epoch.
    ``on_epoch(epoch, loss, train_accuracy, test_accuracy)`` is called after each epoch
    (progress logging).
    """
    net = clone(net)
    classes = np.unique(y_train)
    rows = []
    for epoch in range(1, int(n_epochs) + 1):
        net.partial_fit(X_train, y_train, classes=classes if epoch == 1 else None)
        if epoch == 1:
            rows.append(
                {
                    "epoch": 0,
                    "train_loss": np.nan,
                    "train_accuracy": net.score_initial(X_train, y_train),
                    "test_accuracy": net.score_initial(X_test, y_test),
                }
            )
        row = {
            "epoch": epoch,
            "train_loss": net.loss_curve_[-1],
            "train_accuracy": net.score(X_train, y_train),
            "test_accuracy": net.score(X_test, y_test),
        }
        rows.append(row)
        if on_epoch is not None:
            on_epoch(epoch, row["train_loss"], row["train_accuracy"], row["test_accuracy"])
    return net, pd.DataFrame(rows)


def digit_map(coefs: list[np.ndarray], classes: np.ndarray, digit: int) -> np.ndarray:
    """The weights from the inputs into output class ``digit``, as a 28x28 map for MNIST.

    For a perceptron these are the weights of that output column; for an MLP the effective
    linear map ``W1 @ ... @ W_last[:, digit]`` (activations ignored), so the two nets can be
    drawn side by side. Inputs that are not 784 pixels come back as a flat vector.
    """
    column = int(np.searchsorted(classes, digit))
    if column >= len(classes) or classes[column] != digit:
        raise ValueError(f"digit {digit!r} is not one of the classes {list(classes)}")
    weights = coefs[-1][:, column]
    for layer in reversed(coefs[:-1]):
        weights = layer @ weights
    return weights.reshape(28, 28) if weights.size == 784 else weights


def aggregate_accuracy(curves: pd.DataFrame, paper: pd.DataFrame) -> pd.DataFrame:
    """Accuracy per (net, state) over seeds, with the paper's value beside its network.

    ``curves`` holds one row per (net, state, seed, epoch) with ``test_accuracy`` and
    ``train_accuracy`` (epoch 0 = as initialised). The final epoch of each seed gives the
    trained accuracy (mean, sample std over seeds: NaN for one seed), epoch 0 the initial one.
    ``paper`` has one row per (``net``, ``state``) the paper quotes, with its
    ``paper_test_accuracy`` after ``paper_epochs`` epochs
    (:func:`fmes.data.targets.network_paper_accuracy` of the paper targets); other nets and states
    get NaN there.
    """
    last_epoch = curves.groupby(["net", "state", "seed"])["epoch"].transform("max")
    final = curves[curves["epoch"] == last_epoch]
    initial = curves[curves["epoch"] == 0]
    keys = ["net", "state"]
    table = (
        final.groupby(keys, sort=False)
        .agg(
            n_seeds=("seed", "nunique"),
            epochs=("epoch", "max"),
            final_test_accuracy_mean=("test_accuracy", "mean"),
            final_test_accuracy_std=("test_accuracy", "std"),
            final_train_accuracy_mean=("train_accuracy", "mean"),
        )
        .join(
            initial.groupby(keys, sort=False).agg(
                initial_test_accuracy_mean=("test_accuracy", "mean"),
                initial_test_accuracy_std=("test_accuracy", "std"),
            )
        )
        .reset_index()
    )
    quoted = paper.set_index(["net", "state"])[["paper_test_accuracy", "paper_epochs"]]
    table = table.join(quoted.astype(float), on=["net", "state"])
    table["difference_vs_paper"] = table["final_test_accuracy_mean"] - table["paper_test_accuracy"]
    return table


def accuracy_table(
    curves: pd.DataFrame,
    plan: pd.DataFrame,
    nets: Sequence[str],
    paper: pd.DataFrame,
) -> pd.DataFrame:
    """The networks stage's accuracy table: :func:`aggregate_accuracy` of the trained states,
    each with its device status from ``plan`` (:func:`fmes.workflow.planning.plan_states`; ``ideal`` is
    ``ok``), and one ``skipped`` row per net for every state the plan refused (its reason, no
    accuracy, ``n_seeds`` 0), so every requested state has a row."""
    table = aggregate_accuracy(curves, paper)
    status = {
        "ideal": (Status.OK.value, ""),
        **{r.state: (r.status, r.reason) for r in plan.itertuples()},
    }
    table["status"] = [status[s][0] for s in table["state"]]
    table["reason"] = [status[s][1] for s in table["state"]]
    skipped = plan[~plan["use"]]
    return pd.concat(
        [
            table,
            pd.DataFrame(
                [
                    {
                        "net": net,
                        "state": r.state,
                        "n_seeds": 0,
                        "status": r.status,
                        "reason": r.reason,
                    }
                    for net in nets
                    for r in skipped.itertuples()
                ]
            ),
        ],
        ignore_index=True,
    )


def curves_over_seeds(curves: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Per (net, state, epoch) of per-seed learning curves: the mean over seeds of each of
    ``columns`` as ``<column>_mean`` and its sample standard deviation as ``<column>_std``
    (0 for a single seed: no spread to draw), sorted by net, state and epoch."""
    grouped = curves.groupby(["net", "state", "epoch"], sort=True)[list(columns)]
    mean = grouped.mean().add_suffix("_mean")
    std = grouped.std().fillna(0).add_suffix("_std")
    return mean.join(std).reset_index()
