"""The package version (its own module, so any module can read it without importing
the package and closing an import circle)."""

__version__ = "0.2.0"
