"""brian2-loihi (a Loihi 1 emulator on Brian2, 0.5.2, the last release) as a variant of
the Brian2 backend: refused by name, for the reasons below, read in the package's
0.5.2 source (pure Python; requires brian2 >= 2.4.2 and numpy).

Its ``LoihiSynapses`` take Loihi-1 trace rules (``x0, x1, x2, y0..y3, u``: pair STDP is
``2^-2*x1*y0 - 2^-2*y1*x0``), but no spec of this project would run with its meaning:

- ``LoihiNeuronGroup`` has a current and a voltage decay, a threshold and a refractory
  period, and no bias current, so the spec's LIF (J = threshold + gain (I + b): a
  neuron fires when its filtered input exceeds -b) has no equivalent;
- its learning-rule parser raises on the tag ``t``, the reward traces ``r0``/``r1`` and
  ``d``, and takes post factors only from spike traces: tags, third factors and the
  error drives of every other rule cannot be written;
- its traces and weights round stochastically with Brian2's own ``rand()``, and no
  bit-exact model of that arithmetic exists here to grade it against (Lava's
  fixed-point engine has one);
- ``LoihiNetwork`` sets Brian2's global ``defaultclock.dt`` to 1 ms and registers
  state updaters globally, which would change every other Brian2 run in the process.

This module imports nothing from brian2 or brian2_loihi.
"""

from __future__ import annotations

from ...errors import UnsupportedRule

REASON = ("brian2-loihi 0.5.2 writes Loihi-1 trace rules (pair STDP), but its neuron has no "
          "bias current (the spec's LIF J = threshold + gain (I + b) has no equivalent), "
          "its rule strings refuse tags (t), reward (r0, r1) and neuron post factors, its "
          "rounding draws from Brian2's rand() with no bit-exact model to grade it "
          "against, and its LoihiNetwork resets Brian2's global defaultclock")


def refuse_loihi(spec):
    raise UnsupportedRule("brian2", f"variant 'loihi' (brian2-loihi) for spec {spec.name!r}",
                          REASON, "lava --precision fixed (Loihi 2's learning engine, "
                          "graded bit for bit), or brian2 --variant numpy")
