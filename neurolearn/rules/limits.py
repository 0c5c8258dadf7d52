"""Upper (and lower) bounds on every number a spec, a profile or the command line
gives, each with the reason it exists: physics (what a neuron, a synapse or a
neuromorphic chip can be) or the machine (what float64, int64, the parsers and
this computer's memory can hold). One place, so a limit is never kept twice;
``neurolearn.rules.schema`` turns them into field checks, and docs/reliability.md
lists them.

A value beyond a limit is refused with a :class:`SpecError` naming the file, the
field, the limit and its reason, before anything is allocated or started.
"""

from __future__ import annotations

import os

from ..errors import SpecError

# ---- files and parsers ---------------------------------------------------------------
# Machine: a spec or profile is a few KB of text; reading a larger file whole is a
# mistake (a data file given as a spec), not a network description.
MAX_FILE_BYTES = 1 << 20
# Machine: TOML and JSON parsers recurse per level (Python's stack: 1,000 frames),
# and no spec or profile nests deeper than 6 levels (spec > rule > terms > [k] >
# factors > [j]); 32 leaves room and fails long before the parsers do.
MAX_NESTING = 32
# Machine: an error line must stay readable; a name or free text longer than this
# is not a name. Descriptions are free text and may be longer.
MAX_NAME_CHARS = 200
MAX_TEXT_CHARS = 100_000
# Machine: lists (layers, terms, factors, names) beyond these are no network a
# dense simulator can run, and fuzzed 10^6-entry lists would take minutes to check.
MAX_LAYERS = 1_000
MAX_TERMS = 64
MAX_FACTORS = 16
# Machine: an example's phases (free, nudged, mirror, ...) are a handful; 64 bounds
# the per-phase records a run keeps for every example of a batch.
MAX_PHASES = 64

# ---- network sizes -------------------------------------------------------------------
# Physics and machine: 10^8 neurons in one population is 100x Loihi 2's one million
# neurons per chip and far beyond a dense float64 projection on one host (a single
# 10^8 x 2 projection is 1.6 GB); the memory estimate below catches smaller
# networks that still do not fit this machine.
MAX_LAYER_SIZE = 100_000_000
# Machine: the data sets hold at most 70,000 examples; 10^8 caps slicing overrides.
MAX_EXAMPLES = 100_000_000

# ---- training budget -----------------------------------------------------------------
# Machine: 10^6 passes over even 4 XOR examples is hours of NumPy; beyond that a run
# never ends (use --time-limit for a wall-clock bound).
MAX_EPOCHS = 1_000_000
MAX_BATCH_SIZE = 10_000_000
# Machine: nengo and Lava seed with unsigned 32-bit integers (nengo's Simulator
# raises for seed >= 2**32), so every backend accepts exactly [0, 2**32).
SEED_LIMIT = 2 ** 32
# Physics: Loihi 2's learning epoch has 6 bits (<= 63 steps); no engine known to
# us has more than 16, and t_epoch counts simulator steps between weight writes.
MAX_T_EPOCH = 2 ** 16 - 1

# ---- time ----------------------------------------------------------------------------
# Physics: neuron and synapse dynamics are resolved at >= 1 us (Loihi's time step
# is ~ 1 us to 1 ms); a smaller dt multiplies steps without changing the model
# (dt = 1e-9 makes 10^8 steps per example).
MIN_DT = 1e-6
MAX_DT = 1.0
# Physics: membrane, refractory, trace and averaging time constants of neurons and
# synapses span ms to minutes (the slowest moving averages of burstprop: seconds);
# an hour bounds them all. Trace time constants in the batched trainer count
# updates and get the same bound as a number.
MAX_TIME_CONSTANT = 3600.0
# Machine: steps per example (t_example / dt); each step is a full network update.
MAX_STEPS_PER_EXAMPLE = 1_000_000
# Physics: cortical neurons fire below ~1 kHz; an input coded above 10 kHz has no
# neural meaning (and above 1/dt no spike train can carry it).
MAX_RATE_HZ = 10_000.0

# ---- magnitudes ----------------------------------------------------------------------
# Machine: float64 overflows at 1.8e308; a weight scale, gain, coefficient or
# learning rate beyond 1e6 drives activities of a 10^3-wide layer past 1e9 and the
# first update to inf, so it is a typo, not an experiment.
MAX_MAGNITUDE = 1e6

# ---- hardware profiles ---------------------------------------------------------------
# Physics: neuromorphic weights and traces have 1-16 bits (Loihi 8 + sign, traces
# 7-9; SpiNNaker 16); machine: the quantized reference forms products of several
# factors in int64, so each width must leave room: <= 24 bits.
MAX_VALUE_BITS = 24
# Machine: the accumulator holds w shifted by (A - B) plus products, in int64.
MAX_ACCUMULATOR_BITS = 48
# Machine: a shift or a 2^e scale beyond +-62 leaves int64 (and float64 reads
# 2^1024 as inf); physics: Loihi's scale exponent spans [-7, 8].
MAX_EXPONENT = 62
# Machine: the learning epoch is counted in steps (2^bits - 1); 32 bits is 4e9 steps.
MAX_EPOCH_BITS = 32
# Physics: per-core resources of any chip (Loihi 1: 1,024 compartments, 4,096 axons,
# 1 Mbit synapse memory per core; Loihi 2: 8,192 neurons) are far below 2^40;
# machine: the resource model multiplies them, and 2^40 keeps products exact.
MAX_RESOURCE = 2 ** 40
# Machine: the mantissa m of m*2^e is an int in the engine's arithmetic.
MAX_MANTISSA = 2 ** 15
# Physics: a learning engine with > 1,024 products or traces per rule is not a chip.
MAX_ENGINE_COUNT = 1_024

# ---- command line --------------------------------------------------------------------
# Machine: an equivalence run records per step; 10^7 steps is hours on every backend.
MAX_STEPS = 10_000_000
# Machine: --time-limit is a wall-clock bound; a year is no bound at all.
MAX_TIME_LIMIT_S = 365 * 24 * 3600.0


# ---- memory: estimated before anything is allocated ---------------------------------

GIB = 1024 ** 3
# Examples per data set (train + test) before n_train / n_test cut them.
_DATASET_EXAMPLES = {"digits": (1347, 450), "xor": (4, 4), "linear_teacher": (2000, 500),
                     "fashion_mnist": (60000, 10000), "mnist": (60000, 10000),
                     "pca_gaussian": (2000, 500), "two_patterns": (2000, 2)}


def machine_memory() -> tuple[int | None, int | None]:
    """(total, available) bytes of this machine's memory, None where unknown."""
    total = avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                key, _, rest = line.partition(":")
                if key in ("MemTotal", "MemAvailable"):
                    value = int(rest.split()[0]) * 1024
                    if key == "MemTotal":
                        total = value
                    else:
                        avail = value
    except (OSError, ValueError, IndexError):
        pass
    if total is None:
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
            pass
    return total, avail if avail is not None else total


def memory_estimate(spec, steps: int = 0, copies: int = 1) -> int:
    """A lower bound of the bytes a run of ``spec`` allocates (float64 everywhere):
    each projection's W, its update and its feedback matrix (3 matrices), the data
    set, one forward pass over the larger split (activations of every layer), and,
    for ``steps`` recorded time steps, the output and spike records. ``copies``
    networks trained together (one per seed) share the data set only."""
    sizes = spec.network.sizes
    synapses = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    n_train, n_test = _DATASET_EXAMPLES.get(spec.data.dataset, (0, 0))
    n_train = min(n_train, spec.data.n_train or n_train)
    n_test = min(n_test, spec.data.n_test or n_test)
    data = (n_train + n_test) * (sizes[0] + sizes[-1])
    forward = max(n_train, n_test, 1) * sum(sizes[1:]) * 2  # a and h per layer
    batch = min(spec.training.batch_size, max(n_train, 1)) * sum(sizes) * 4
    records = steps * sizes[-1] * 2
    return 8 * (copies * (3 * synapses + forward + batch + records) + data)


def check_memory(spec, steps: int = 0, source: str | None = None, copies: int = 1) -> None:
    """Refuse a run whose memory lower bound exceeds what this machine has free."""
    need = memory_estimate(spec, steps, copies)
    total, avail = machine_memory()
    if avail is None or need <= avail:
        return
    have = f"this machine has {total / GIB:.0f} GiB" + (
        f" ({avail / GIB:.1f} GiB available)" if avail != total else "")
    raise SpecError(f"needs at least {need / GIB:.1f} GiB of memory; {have} "
                    f"(limit: the machine's free memory; make the layers or the data "
                    f"set smaller)", "network.layers", source)
