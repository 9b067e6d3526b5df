"""Sphinx configuration of the course site (built by scripts/build_site.py; offline, no CDN)."""
project = "Unrolled"
author = "The Unrolled authors"
copyright = "2026, The Unrolled authors"

extensions = ["myst_nb", "sphinx-mathjax-offline"]     # MathJax shipped with the site, not from a CDN
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "off"                  # the notebooks arrive executed, in a fresh kernel each
nb_render_markdown_format = "myst"         # Markdown outputs (the course map) get real page links
# A page has no kernel: prefer each widget's static picture (PNG, animated over its steps) to the
# collapsed HTML copy that Jupyter shows under the live widget.
nb_mime_priority_overrides = [("html", "image/png", 5)]
suppress_warnings = ["mystnb.unknown_mime_type"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

html_theme = "sphinx_book_theme"
html_title = "Unrolled: recurrent neural networks, unrolled"
html_theme_options = {"show_toc_level": 2, "use_download_button": False, "use_fullscreen_button": False,
                      "search_bar_text": "Search the course"}
html_static_path = []
