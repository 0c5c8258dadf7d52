"""Plots (needs the 'plot' extra: matplotlib)."""
