"""Sphinx configuration of the fer_sklearn documentation."""

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import fer_sklearn  # noqa: E402

project = "fer_sklearn"
author = "fer_sklearn developers"
copyright = "2026, fer_sklearn developers"
release = version = fer_sklearn.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# every cross-reference must resolve (CI builds with -n -W)
nitpicky = True

# intersphinx without a network: inventories written from the table in
# _inventories.py (the outside names these docs link to); with a network,
# FER_DOCS_ONLINE_INVENTORIES=1 fetches the projects' own
sys.path.insert(0, str(Path(__file__).parent))
from _inventories import PROJECTS, write_inventories  # noqa: E402

if os.environ.get("FER_DOCS_ONLINE_INVENTORIES") == "1":
    intersphinx_mapping = {name: (root, None) for name, (root, _) in PROJECTS.items()}
else:
    intersphinx_mapping = write_inventories(Path(__file__).parent / "_build" / "inventories")
autosummary_generate = True
# the methods a user calls, in a summary table and documented on each class
# page (inherited ones included: get_params, set_params ...); skorch's and
# torch's training internals are left out (skorch's own docs have them);
# the networks' pages list forward
autosummary_context = {
    "user_methods": [
        "fit", "partial_fit", "predict", "predict_proba", "score",
        "transform", "fit_transform", "inverse_transform", "merge_proba",
        "from_estimator", "get_params", "set_params", "save_params",
        "load_params",
    ],
}
autodoc_preserve_defaults = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]

# literal blocks (``::``) are console output or commands, not Python
highlight_language = "text"

html_theme = "pydata_sphinx_theme"
# the version in the top bar, beside the name
html_title = f"fer_sklearn {release}"
html_theme_options = {
    "navigation_with_keys": False,
    # install, quick start, user guide, examples, API, what's new and FAQ
    # in the top bar; performance, reliability and citing under "More"
    "header_links_before_dropdown": 7,
    "show_toc_level": 2,
}
# a left sidebar where a section has pages (user guide, API, gallery); none
# on the single pages, whose tables are wide
html_sidebars = {
    page: [] for page in ("index", "install", "quickstart", "faq", "performance",
                          "reliability", "whats_new", "citing")
}
html_static_path = ["_static"]
html_css_files = ["fer_sklearn.css"]

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # sections in this order; within each, the order of _gallery_order.py
    "subsection_order": ["examples/getting_started", "examples/training",
                         "examples/study", "examples/media"],
    "within_subsection_order": "_gallery_order.ExampleOrder",
    "download_all_examples": False,
    "remove_config_comments": True,
    # the full-data variants run when FER2013_PATH is set; nothing downloads
    "abort_on_example_error": True,
    # "Examples using ..." on each API page
    "doc_module": ("fer_sklearn",),
    "backreferences_dir": "generated/backreferences",
}
os.environ.setdefault("MPLBACKEND", "Agg")
