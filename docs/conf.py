"""Sphinx configuration for the crmcore documentation."""

from __future__ import annotations

import crmcore

project = "crmcore"
author = "crmcore developers"
copyright = "2026, crmcore developers"
release = crmcore.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",  # .. testsetup:: blocks: run by tests/test_docs.py, not shown
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
]

autosummary_generate = True
autodoc_typehints = "none"  # numpydoc sections carry the types
autodoc_default_options = {"inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

templates_path: list[str] = []
exclude_patterns = ["_build", "**/generated/*.ipynb"]
html_theme = "pydata_sphinx_theme"
html_title = f"crmcore {release}"
html_theme_options = {"navigation_with_keys": False}
html_static_path: list[str] = []
# The docs are built offline: no intersphinx inventories are fetched.
