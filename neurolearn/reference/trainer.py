"""The batched face of the NumPy reference: minibatch training of rate networks.

Semantics (float64), one update per minibatch of n samples, with the learning
signals of :mod:`neurolearn.reference.signals` (each formula written once there):

1. Forward: a_l = h_{l-1} W_l^T + b_l, h_l = f_l(a_l), h_0 = x.
2. Output error, output and hidden drives under each layer's feedback pathway, and
   rate burstprop's (p - p_bar) e: signals.py.
3. Each plastic layer's update is the rule's sum of products (see terms.py),
   dW_l = eta_l * sum_k c_k (P_k^T Q_k / n) * syn_k, with eta_L = eta_output: the
   mean over the batch of each example's rule value. A rate example has no time
   course, so a factor with a ``tau`` takes its steady-state value, except the
   moving average ``activity_sq_avg`` (BCM), which runs across updates with tau in
   seconds of plastic time (an update covers n * plastic steps * dt seconds).
   A learned feedback matrix gets dB_l = eta_{l+1} * (the syn-free part of
   dW_{l+1})^T - eta_{l+1} * decay * B_l (Kolen-Pollack).
4. SGD with optional momentum: v = mu v + dW; W += v. After every epoch eta is
   multiplied by ``training.lr_decay`` (1 by default).

``training.dtype = "float32"`` runs the same arithmetic in single precision, with
the weight update fused into one GEMM per term with BLAS's beta = 1 (W += (c P)^T Q
without momentum). With momentum the velocity is kept scaled, v = s u with
s = mu^t: u += (c / s) P^T Q is one GEMM with beta = 1, then W += s u (``?axpy``), and
u is rescaled (u *= s, s = 1) once s falls below 2^-16. OpenBLAS applies a beta other
than 1 as a separate pass over C before the product, so v = mu v + dW through beta
cost three passes over a weight matrix where this costs two (measured at
1000 x 784, batch 32, 2 threads: 0.64 ms against 0.33 ms per GEMM). That rounds
differently from the float64 sequence (dW rounded, then mu v, then the sum); the
float32 run stays within the bound tests/test_trainer_float32.py states. float64
(the default) is the ground truth and unchanged. No temporary the size of a weight
matrix is made per minibatch in either.

The time-stepped simulator runs the same updates (reference/simulator.py): with one
step per example they agree update for update.

The examples of each epoch come in the order of
:func:`neurolearn.reference.stream.example_order` (``default_rng([seed, 2])``, the
stream every time-stepped run uses); parameters use ``default_rng(seed)``.
"""

from __future__ import annotations

import copy
import time

import numpy as np

from ..data import load_dataset
from ..errors import UnsupportedRule
from ..rules.compat import check_data_fits
from ..progress import Progress
from ..result import RunResult
from .blas import add_scaled, add_to, scale
from .params import Params, init_params
from .signals import (burst_prob_devs, error_drives, layer_etas, loss_value, output_error,
                      output_readout, reward_error, reward_of, select_action)
from .stream import example_order, steps_per_example
from .terms import error_free_part, rule_update


def accuracy(y_hat, y) -> float:
    """Class accuracy: argmax, or y_hat > 0.5 for a single output."""
    if y.shape[1] == 1:
        return float(np.mean((y_hat[:, 0] > 0.5) == (y[:, 0] > 0.5)))
    return float(np.mean(y_hat.argmax(1) == y.argmax(1)))


def angle_deg(u, v) -> float:
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu == 0 or nv == 0:
        return float("nan")
    # 2 atan2(|u^ - v^|, |u^ + v^|) stays accurate near 0 and 180 deg, where arccos of
    # the cosine loses half the digits
    a, b = u / nu, v / nv
    return float(np.degrees(2 * np.arctan2(np.linalg.norm(a - b), np.linalg.norm(a + b))))


class BatchedTrainer:
    """Minibatch training of a rate network under a spec's rule and pathways."""

    phased = False  # reference/phased.py's PhasedTrainer runs specs with [[phases]]

    def __new__(cls, spec, *args, **kwargs):
        # one meaning: a spec with [[phases]] trains in the phased reference, whoever
        # builds its trainer (train(), deploy's evaluation, the grid)
        if cls is BatchedTrainer and getattr(spec, "phases", None):
            # reference/phased.py's subclass (imported by the package, not from here)
            cls = next(c for c in BatchedTrainer.__subclasses__() if c.phased)
        return super().__new__(cls)

    def __init__(self, spec, params: Params | None = None):
        if getattr(spec, "phases", None) and not self.phased:
            raise UnsupportedRule(type(self).__name__, f"phased spec {spec.name!r}",
                                  "it trains without phases", "numpy (float)")
        self.spec = spec
        self.net = spec.network
        self.neurons = [layer.neuron for layer in self.net.layers]
        self.L = len(self.net.layers) - 1
        self.params = params if params is not None else init_params(self.net, spec.training.seed)
        self.dtype = np.dtype(spec.training.dtype)
        if self.dtype != np.float64:  # draws are float64; the run is in the chosen type
            p = self.params
            p.W = [w.astype(self.dtype) for w in p.W]
            p.b = [v.astype(self.dtype) for v in p.b]
            p.B = {k: v.astype(self.dtype) for k, v in p.B.items()}
        self.terms = spec.rule.resolved_terms()
        self._buf = {}  # per layer: workspace of W's shape (no per-batch temporaries)
        self._gemm = _fused_gemm(self.dtype, self.terms)
        self.post_needed = spec.rule.signals("post")
        self.eta = layer_etas(spec.rule, self.L)
        self.momentum = spec.training.momentum
        self.loss_kind = spec.training.loss
        sim = spec.simulation
        # seconds of plastic time one example stands for (moving averages across updates)
        self.example_seconds = sim.dt * max(1, int(round(sim.teach * steps_per_example(sim))))
        self._vel = None
        # float32's fused path keeps W's velocity as s u (module docstring): s per layer
        self._vscale = None
        self._theta = {}  # BCM thresholds per layer
        self.action_rng = np.random.default_rng([spec.training.seed, 6])  # reward tasks
        self.updates = 0

    # -- forward and learning signals ------------------------------------------------
    def forward(self, x):
        a_list, h_list = [], [x]
        for l in range(1, self.L + 1):
            a = h_list[-1] @ self.params.W[l - 1].T + self.params.b[l - 1]
            a_list.append(a)
            h_list.append(self.neurons[l].f(a))
        return a_list, h_list

    def output_error(self, a_list, h_list, y):
        y_hat = output_readout(a_list[-1], h_list[-1], self.loss_kind)
        if self.loss_kind == "reward":  # BrainProp: act, be rewarded, learn the RPE
            action = select_action(y_hat, self.spec.reward, self.action_rng)
            return y_hat, reward_error(y_hat, action, reward_of(action, y, self.spec.reward))
        return y_hat, output_error(y_hat, y)

    def loss(self, y_hat, y) -> float:
        return loss_value(y_hat, y, "mse" if self.loss_kind == "reward" else self.loss_kind)

    def error_drives(self, a_list, h_list, err, transport_only=False):
        """delta_1..delta_L (index 0..L-1); transport_only gives true backprop."""
        fp = [self.neurons[l].fprime(a_list[l - 1], h_list[l]) for l in range(1, self.L + 1)]
        return error_drives(self.net, self.params, fp, err, self.loss_kind, transport_only)

    def signals(self, x, y):
        """Forward pass plus every pre and post signal the rule needs, per layer."""
        a_list, h_list = self.forward(x)
        y_hat, err = self.output_error(a_list, h_list, y)
        post = [dict() for _ in range(self.L)]
        if "error_drive" in self.post_needed:
            for l, d in enumerate(self.error_drives(a_list, h_list, err)):
                post[l]["error_drive"] = d
        if "burst_prob_dev" in self.post_needed:
            for l, d in enumerate(burst_prob_devs(self.net, self.params, h_list, y)):
                post[l]["burst_prob_dev"] = d
        if "activity" in self.post_needed:
            for l in range(self.L):
                post[l]["activity"] = h_list[l + 1]
        if "activity_sq_avg" in self.post_needed:
            d = np.exp(-len(x) * self.example_seconds / self._tau("post", "activity_sq_avg"))
            for l in range(self.L):
                m = np.mean(h_list[l + 1] ** 2, axis=0)
                th = d * self._theta[l] + (1.0 - d) * m if l in self._theta else m
                self._theta[l] = th
                post[l]["activity_sq_avg"] = np.broadcast_to(th, h_list[l + 1].shape)
        pre = [{"activity": h_list[l], "event_trace": h_list[l]} for l in range(self.L)]
        return a_list, h_list, y_hat, err, pre, post

    def _tau(self, kind, signal) -> float:
        for t in self.terms:
            for fac in t.factors:
                if fac.kind == kind and fac.signal == signal and fac.tau:
                    return fac.tau
        return 1.0  # s, as the time-stepped simulator

    # -- learning ----------------------------------------------------------------------
    def compute_updates(self, x, y):
        """dW, db per layer (learning rate included) and dB per learned feedback."""
        _, h_list, y_hat, _, pre, post = self.signals(x, y)
        dW, db = [], []
        for l in range(1, self.L + 1):
            layer = self.net.layers[l]
            if not layer.plastic:
                dW.append(None)
                db.append(None)
                continue
            b = self.params.b[l - 1] if layer.bias else None
            out, work = self._workspace(l - 1)
            w_upd, b_upd = rule_update(self.terms, pre[l - 1], post[l - 1],
                                       self.params.W[l - 1], b, scale=self.eta[l - 1],
                                       out=out, work=work)
            dW.append(w_upd)
            db.append(b_upd)
        dB = self._feedback_updates(pre, post)
        return dW, db, dB, y_hat

    def _feedback_updates(self, pre, post) -> dict:
        """dB_l = eta_{l+1} (mirror^T - decay B_l) of each learned feedback matrix, in
        workspaces (no temporary of W's or B's size per minibatch)."""
        dB = {}
        for l, B in self.params.B.items():
            fb = self.net.feedback_of(l)
            if fb.kind == "learned":
                if ("B", l) not in self._buf:
                    W = self.params.W[l]
                    self._buf[("B", l)] = (np.empty_like(W), np.empty_like(W),
                                           np.empty_like(B))
                out, work, d = self._buf[("B", l)]
                mirror = error_free_part(self.terms, pre[l], post[l], self.params.W[l],
                                         out=out, work=work)
                np.multiply(B, fb.decay, out=d)
                np.subtract(mirror.T, d, out=d)
                d *= self.eta[l]
                dB[l] = d
        return dB

    def apply(self, dW, db, dB):
        p = self.params
        if self.momentum:
            if self._vel is None:
                self._vel = ([np.zeros_like(w) for w in p.W], [np.zeros_like(v) for v in p.b],
                             {k: np.zeros_like(v) for k, v in p.B.items()})
            vW, vb, vB = self._vel
            for i, d in enumerate(dW):
                if d is not None:  # v <- mu v + dW (BLAS: numpy's sums, threaded)
                    add_to(scale(vW[i], self.momentum), d)
                    dW[i] = vW[i]
            for i, d in enumerate(db):
                if d is not None:
                    vb[i] *= self.momentum
                    vb[i] += d
                    db[i] = vb[i]
            for k, d in dB.items():
                vB[k] *= self.momentum
                vB[k] += d
                dB[k] = vB[k]
        for i, d in enumerate(dW):
            if d is not None:
                add_to(p.W[i], d)
        for i, d in enumerate(db):
            if d is not None:
                p.b[i] += d
        for k, d in dB.items():
            p.B[k] += d

    def _workspace(self, i):
        if i not in self._buf:
            W = self.params.W[i]
            self._buf[i] = (np.empty_like(W), np.empty_like(W) if len(self.terms) > 1
                            else None)
        return self._buf[i]

    def step(self, x, y):
        if self._gemm is not None:
            self._fused_step(x, y)
        else:
            dW, db, dB, _ = self.compute_updates(x, y)
            self.apply(dW, db, dB)
        self.updates += 1

    def _fused_step(self, x, y):
        """float32: each term's product lands in the scaled velocity u (or the weights)
        through a GEMM with beta = 1 (module docstring); biases and learned feedback
        as in :meth:`apply`."""
        _, _, _, _, pre, post = self.signals(x, y)
        p, mu = self.params, self.momentum
        if mu and self._vel is None:
            self._vel = ([np.zeros_like(w) for w in p.W], [np.zeros_like(v) for v in p.b],
                         {k: np.zeros_like(v) for k, v in p.B.items()})
        if mu and self._vscale is None:
            self._vscale = [1.0] * self.L
        gemm, n = self._gemm, len(x)
        dB = self._feedback_updates(pre, post)  # from the weights before this update
        for l in range(1, self.L + 1):
            layer = self.net.layers[l]
            if not layer.plastic:
                continue
            W, target = p.W[l - 1], (self._vel[0][l - 1] if mu else p.W[l - 1])
            s = self._vscale[l - 1] * mu if mu else 1.0  # v = s u after this update
            db = None
            for term in self.terms:
                P = _side(term, ("post", "global"), post[l - 1], n, W.shape[0])
                Q = _side(term, ("pre",), pre[l - 1], n, W.shape[1])
                c = term.coeff * self.eta[l - 1] / n
                # target += (c / s P)^T Q in place, beta = 1: one pass over W's size
                gemm(1.0, np.ascontiguousarray(P * (c / s), dtype=np.float32),
                     np.ascontiguousarray(Q, dtype=np.float32), 1.0, target, trans_a=True)
                if layer.bias:
                    tb = c * P.sum(axis=0)
                    db = tb if db is None else db + tb
            if mu:
                add_scaled(W, s, target)  # W += v = s u
                if s < _RESCALE_BELOW:  # keep u within float32's range
                    scale(target, s)
                    s = 1.0
                self._vscale[l - 1] = s
            if db is not None:
                if mu:
                    vb = self._vel[1][l - 1]
                    vb *= mu
                    vb += db
                    db = vb
                p.b[l - 1] += db
        for k, d in dB.items():
            if mu:
                v = self._vel[2][k]
                v *= mu
                v += d
                d = v
            p.B[k] += d

    # -- state (checkpoints) -----------------------------------------------------------
    def state_dict(self) -> dict:
        """Everything that changes during training, as ``{"arrays": {name: ndarray},
        "meta": {JSON-able}}``; :meth:`load_state_dict` on a trainer built from the
        same spec continues bit for bit (see neurolearn.deploy.checkpoint)."""
        p = self.params
        arrays = {f"W.{i}": w for i, w in enumerate(p.W)}
        arrays.update({f"b.{i}": v for i, v in enumerate(p.b)})
        arrays.update({f"B.{k}": v for k, v in p.B.items()})
        if self._vel is not None:
            vW, vb, vB = self._vel
            arrays.update({f"vel.W.{i}": v for i, v in enumerate(vW)})
            arrays.update({f"vel.b.{i}": v for i, v in enumerate(vb)})
            arrays.update({f"vel.B.{k}": v for k, v in vB.items()})
        arrays.update({f"theta.{k}": v for k, v in self._theta.items()})
        meta = {"eta": list(self.eta), "updates": self.updates,
                "velocity": self._vel is not None, "theta": sorted(self._theta),
                "velocity_scale": self._vscale,
                "action_rng": self.action_rng.bit_generator.state}
        return {"arrays": {k: np.array(v, copy=True) for k, v in arrays.items()},
                "meta": meta}

    def load_state_dict(self, state: dict):
        a, meta = state["arrays"], state["meta"]
        p = self.params
        p.W = [np.array(a[f"W.{i}"]) for i in range(len(p.W))]
        p.b = [np.array(a[f"b.{i}"]) for i in range(len(p.b))]
        p.B = {k: np.array(a[f"B.{k}"]) for k in p.B}
        if meta["velocity"]:
            self._vel = ([np.array(a[f"vel.W.{i}"]) for i in range(len(p.W))],
                         [np.array(a[f"vel.b.{i}"]) for i in range(len(p.b))],
                         {k: np.array(a[f"vel.B.{k}"]) for k in p.B})
        else:
            self._vel = None
        scales = meta.get("velocity_scale")  # the fused float32 path's v = s u
        self._vscale = None if scales is None else [float(v) for v in scales]
        if self._vscale is not None and self._gemm is None:  # this path keeps v itself
            for u, v_s in zip(self._vel[0], self._vscale):
                scale(u, v_s)
            self._vscale = None
        self._theta = {int(k): np.array(a[f"theta.{k}"]) for k in meta["theta"]}
        self.eta = [float(e) for e in meta["eta"]]
        self.updates = int(meta["updates"])
        if "action_rng" in meta:
            self.action_rng.bit_generator.state = meta["action_rng"]

    # -- metrics -----------------------------------------------------------------------
    def predict(self, x):
        a_list, h_list = self.forward(x)
        return output_readout(a_list[-1], h_list[-1], self.loss_kind)

    def evaluate(self, x, y, classification=True):
        y_hat = self.predict(x)
        loss = self.loss(y_hat, y)
        return loss, (accuracy(y_hat, y) if classification else None)

    def alignment(self, x, y) -> list[float]:
        """Angle (deg) between each hidden layer's rule update and the backprop
        gradient step -dL/dW_l, both over the batch (x, y)."""
        if self.L < 2:
            return []
        # metrics must not advance the BCM state or the action generator
        saved_theta, saved_rng = dict(self._theta), self.action_rng
        self.action_rng = copy.deepcopy(saved_rng)
        dW, _, _, _ = self.compute_updates(x, y)
        a_list, h_list = self.forward(x)
        _, err = self.output_error(a_list, h_list, y)
        self._theta, self.action_rng = saved_theta, saved_rng
        bp = self.error_drives(a_list, h_list, err, transport_only=True)
        out = []
        for l in range(1, self.L):
            g = bp[l - 1].T @ h_list[l - 1] / len(x)
            out.append(angle_deg(dW[l - 1], g) if dW[l - 1] is not None else float("nan"))
        return out


def _side(term, kinds, signals, n, width):
    """The product of a term's factors of these kinds, (n, width) (ones if none)."""
    out = None
    for f in term.factors:
        if f.kind in kinds:
            out = signals[f.signal] if out is None else out * signals[f.signal]
    if out is None:
        return np.ones((n, width), dtype=next(iter(signals.values())).dtype)
    return out if out.shape[-1] == width else np.broadcast_to(out, (n, width))


# the fused path rescales its velocity u (v = s u) once s = mu^t falls below this, so
# u stays far inside float32's range (|u| <= 2^16 |v|)
_RESCALE_BELOW = 2.0 ** -16


def _fused_gemm(dtype, terms):
    """BLAS sgemm for the fused float32 update (neurolearn.reference.blas), or None:
    float64 keeps its exact sequence, terms with synaptic factors (w, tag) multiply
    after the product, and without numpy's OpenBLAS the plain sequence runs."""
    if dtype != np.float32 or any(f.kind == "syn" for t in terms for f in t.factors):
        return None
    from .blas import sgemm
    return sgemm


def train(spec, dataset=None, epochs: int | None = None, quiet: bool | None = None,
          params: Params | None = None, trainer_cls=BatchedTrainer,
          record_every: int | None = None, resume: dict | None = None,
          on_epoch=None) -> RunResult:
    """Train ``spec`` with the batched reference; returns a :class:`RunResult`.

    ``record_every`` records alignment angles every that many updates (default:
    once per epoch); the epoch-0 entry is before any learning.

    Checkpoints: ``on_epoch(state)`` is called after every epoch with the whole
    loop state (``epoch``, ``epochs``, ``trainer`` = the trainer's
    :meth:`~BatchedTrainer.state_dict`, ``history``, ``seconds``); passing such a
    state back as ``resume`` continues from that epoch, bit-identical to a run that
    was never stopped (the example order is a function of the seed, prefix-stable in
    the number of epochs).
    """
    t = spec.training
    ds = dataset if dataset is not None else load_dataset(spec.data, t.seed)
    check_data_fits(spec, ds)
    epochs = t.epochs if epochs is None else epochs
    trainer = trainer_cls(spec, params)
    order = example_order(len(ds.x_train), epochs * len(ds.x_train), t.seed)
    if trainer.dtype != np.float64:
        ds.x_train, ds.y_train = (a.astype(trainer.dtype) for a in (ds.x_train, ds.y_train))
        ds.x_test, ds.y_test = (a.astype(trainer.dtype) for a in (ds.x_test, ds.y_test))
    hidden = [layer.name for layer in spec.network.layers[1:-1]]
    probe = slice(0, min(len(ds.x_train), 512))
    px, py = ds.x_train[probe], ds.y_train[probe]
    hist = {"epoch": [], "train_loss": [], "test_loss": [], "test_accuracy": [],
            "train_accuracy": [], "alignment_updates": [],
            "alignment_angle_deg": {h: [] for h in hidden}}

    def record_angles():
        hist["alignment_updates"].append(trainer.updates)
        for name, ang in zip(hidden, trainer.alignment(px, py)):
            hist["alignment_angle_deg"][name].append(ang)

    def record_epoch(ep):
        tr_loss, tr_acc = trainer.evaluate(ds.x_train, ds.y_train, ds.classification)
        te_loss, te_acc = trainer.evaluate(ds.x_test, ds.y_test, ds.classification)
        hist["epoch"].append(ep)
        hist["train_loss"].append(tr_loss)
        hist["test_loss"].append(te_loss)
        hist["train_accuracy"].append(tr_acc)
        hist["test_accuracy"].append(te_acc)
        return te_loss, te_acc

    start, seconds = 0, 0.0
    if resume is not None:
        trainer.load_state_dict(resume["trainer"])  # the example order is the seed's
        hist = resume["history"]
        start, seconds = int(resume["epoch"]), float(resume["seconds"])
    else:
        record_epoch(0)
        record_angles()
    n = len(ds.x_train)
    bs = min(t.batch_size, n)
    with Progress(epochs, f"{spec.name} numpy", quiet) as bar:
        bar.update(start)
        for ep in range(start + 1, epochs + 1):
            epoch_order = order[(ep - 1) * n: ep * n]
            t0 = time.perf_counter()
            for start in range(0, n, bs):
                idx = epoch_order[start:start + bs]
                trainer.step(ds.x_train[idx], ds.y_train[idx])
                if record_every and trainer.updates % record_every == 0:
                    seconds += time.perf_counter() - t0
                    record_angles()
                    t0 = time.perf_counter()
            seconds += time.perf_counter() - t0
            if t.lr_decay != 1.0:
                trainer.eta = [e * t.lr_decay for e in trainer.eta]
            te_loss, te_acc = record_epoch(ep)
            if not record_every:
                record_angles()
            if on_epoch is not None:
                on_epoch({"epoch": ep, "epochs": epochs, "trainer": trainer.state_dict(),
                          "history": hist, "seconds": seconds})
            bar.update(1, f"loss {te_loss:.4f}" + (f" acc {te_acc:.3f}" if te_acc is not None
                                                   else ""))
    final_angles = {h: v[-1] for h, v in hist["alignment_angle_deg"].items()}
    return RunResult(
        backend="numpy", rule=spec.rule.display_name, dataset=ds.name, seed=t.seed,
        epochs=epochs, test_accuracy=hist["test_accuracy"][-1],
        test_loss=hist["test_loss"][-1], train_seconds=seconds,
        alignment_angle_deg=final_angles, history=hist, spec_name=spec.name,
        weights=[w.copy() for w in trainer.params.W],
        state=trainer)
