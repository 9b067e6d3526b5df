"""The course as a static site: built offline, every page opened in headless Chromium with every
non-local request blocked. No raw TeX left, no broken image, no dead widget area, every internal
link resolves, no link to a .ipynb. A screenshot of each page goes to build/site-screenshots/.

Slow (it executes every notebook): marker `site`, run by `make site-test` (and CI).
"""
import functools
import http.server
import os
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from conftest import NOTEBOOKS, ROOT

pytestmark = pytest.mark.site

SITE = ROOT / "build" / "site"
SHOTS = ROOT / "build" / "site-screenshots"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
LIVE_NOTE = "A live widget stands here when the notebook runs in Jupyter"


@pytest.fixture(scope="module")
def site():
    """Build the site from freshly executed notebooks; serve it on 127.0.0.1; yield the base URL."""
    pytest.importorskip("sphinx", reason="the site needs its extra: pip install -e '.[site]' (make site)")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_site.py"), "--out", str(SITE)], check=True)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def page(site):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM} (make test installs it as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        pg = browser.new_page(viewport={"width": 1300, "height": 900})
        pg.blocked = []

        def route(r):
            if r.request.url.startswith(site) or r.request.url.startswith("data:"):
                r.continue_()
            else:
                pg.blocked.append(r.request.url)
                r.abort()

        pg.route("**/*", route)
        try:
            yield pg
        finally:
            browser.close()


def _pages():
    return ["index.html"] + [f"{p.stem}.html" for p in NOTEBOOKS]


def test_every_notebook_has_a_page(site):
    missing = [name for name in _pages() if not (SITE / name).exists()]
    assert not missing, f"pages missing from the site: {missing}"


@pytest.mark.parametrize("name", _pages())
def test_page_renders_offline(site, page, name):
    page.blocked.clear()
    page.goto(site + name, wait_until="load")
    page.evaluate("() => window.MathJax && MathJax.startup ? MathJax.startup.promise : null")
    page.wait_for_timeout(300)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{Path(name).stem}.png"), full_page=True)
    assert not page.blocked, f"{name} asked for non-local resources: {page.blocked[:5]}"
    # prose only: code, rendered math and outputs of code are not checked for TeX
    text = page.evaluate("""() => { const a = document.querySelector('article') || document.body;
        const c = a.cloneNode(true);
        c.querySelectorAll('pre, code, .highlight, mjx-container, .MathJax, script, .cell_output').forEach(e => e.remove());
        return c.innerText; }""")
    raw = re.findall(r"\$[^$\n]{1,80}\$|\\\\[a-zA-Z]{2,}\{?|\\\\\(", text)
    assert not raw, f"{name}: TeX left unrendered: {raw[:5]}"
    if name != "index.html":
        assert page.locator("mjx-container").count() > 0, f"{name}: no rendered equation"
    broken = page.evaluate("() => [...document.images].filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))")
    assert not broken, f"{name}: broken images {broken}"
    body = page.evaluate("() => document.body.innerText")
    for dead in ("Loading widget", "Error displaying widget", "VBox(", "HBox(", "Traceback"):
        assert dead not in body, f"{name}: '{dead}' on the page"
    # every live-widget note is followed by the widget's picture
    notes = page.evaluate(f"""() => [...document.querySelectorAll('.cell_output')].filter(o =>
        o.innerText.includes({LIVE_NOTE!r})).map(o => o.querySelectorAll('img').length)""")
    assert all(n >= 1 for n in notes), f"{name}: a widget area without its picture"
    if name != "index.html":
        assert notes, f"{name}: no widget picture on the page"
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))")
    for href in hrefs:
        url = urlparse(urljoin(site + name, href))
        if url.scheme in ("http", "https") and not (site.startswith(f"{url.scheme}://{url.netloc}")):
            continue  # an outside link (a citation): fine to show, not followed
        if url.scheme not in ("http", "https"):
            continue
        assert not url.path.endswith(".ipynb"), f"{name}: a link to a notebook file: {href}"
        target = SITE / url.path.lstrip("/")
        if url.path.endswith("/"):
            target = target / "index.html"
        assert target.exists(), f"{name}: link {href} points nowhere"
