"""Builds the optional C accelerator of the fingerprints (the rest of the configuration is in pyproject.toml).

Without a C compiler the build skips it (optional=True) and splitbrain uses
the pure-Python encoder, which gives the same fingerprints, more slowly.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("splitbrain.checker._fpcore", ["checker/_fpcore.c"], optional=True)])
