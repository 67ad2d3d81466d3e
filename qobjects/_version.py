"""The package version (read by the build backend, greeted by the server)."""

__version__ = "0.2.0"
