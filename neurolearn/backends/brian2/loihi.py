"""brian2-loihi (a Loihi 1 emulator on Brian2) as a variant: refused by name, see
refuse_loihi."""

from __future__ import annotations

from ...errors import UnsupportedRule


def refuse_loihi(spec):
    raise UnsupportedRule("brian2", "variant 'loihi' (brian2-loihi)", "not evaluated yet",
                          "brian2 --variant numpy")
