"""What a learner sees: JupyterLab 4 and Notebook 7, in a real (headless) Chromium, run every notebook.

For each front end and each notebook: open it, run all cells through the Run menu, and assert
that every cell finished without an error and every widget rendered (no "Error displaying
widget", no "Loading widget..." left). Then every widget is changed as a learner would: its step
slider (or first slider) dragged with the mouse, its first text box typed into, and its slider
moved from the keyboard (arrow keys in JupyterLab; in Notebook 7, which keeps arrow keys for its
own cell navigation, by typing a value into the slider's number box). Each change must change
the picture. Screenshots of every widget are saved under build/screenshots/ (git-ignored).

The server is started on 127.0.0.1 with a token and a copy of the notebooks, so nothing in
the checkout is modified; it is stopped whatever happens.
"""
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import NOTEBOOKS, ROOT

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = ROOT / "build" / "screenshots"
CELL_TIMEOUT_S = 150
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FRONT_ENDS = {"lab": ("jupyterlab", "lab/tree/{name}?reset"), "notebook7": ("notebook", "notebooks/{name}")}


@pytest.fixture(scope="module", params=list(FRONT_ENDS))
def lab(request, tmp_path_factory):
    """A JupyterLab or Notebook 7 server on a copy of notebooks/; yields (base_url, token, front end)."""
    front = request.param
    module, _ = FRONT_ENDS[front]
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM} (make test installs it as root)")
        pytest.skip(f"Chromium not found at {CHROMIUM}: install it or set CHROMIUM=")
    root = tmp_path_factory.mktemp(front)
    for nb in NOTEBOOKS:
        shutil.copy(nb, root / nb.name)
    settings = root / ".lab-settings"
    for ext, name, value in (("notebook-extension", "tracker", '{"windowingMode": "none", "autoStartDefaultKernel": true}'),
                             ("apputils-extension", "notification", '{"fetchNews": "false"}')):
        (settings / "@jupyterlab" / ext).mkdir(parents=True, exist_ok=True)
        (settings / "@jupyterlab" / ext / f"{name}.jupyterlab-settings").write_text(value)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(root / "server.log", "w")
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(root / ".jupyter"),
               JUPYTERLAB_SETTINGS_DIR=str(settings),
               JUPYTERLAB_WORKSPACES_DIR=str(root / ".lab-workspaces"))
    server = subprocess.Popen(
        [sys.executable, "-m", module, "--no-browser", "--allow-root",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         *(["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
           if front == "lab" else []),
         "--ContentsManager.allow_hidden=False"],
        stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    log.flush()
                    pytest.fail(f"{module} did not start:\n" + (root / "server.log").read_text()[-3000:])
                time.sleep(0.5)
        urllib.request.urlopen(f"{base}/api/kernelspecs?token={token}", timeout=30)
        yield base, token, front
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip("no Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield b
        finally:
            b.close()


def _wait_for_kernel(page) -> None:
    """Until the notebook's kernel is idle. The notebooks carry kernelspec metadata, so no
    kernel dialog should appear; on a slow machine JupyterLab may still ask before it has
    listed the kernels, and then the preselected kernel (python3) is accepted."""
    deadline, idle_since = time.time() + 90, None
    while time.time() < deadline:
        dialog = page.locator(".jp-Dialog:has-text('Select Kernel')")
        if dialog.count() and dialog.first.is_visible():
            dialog.locator("button.jp-mod-accept").first.click()
            idle_since = None
        status = page.evaluate("() => [...document.querySelectorAll('.jp-Notebook-ExecutionIndicator')]"
                               ".map(e => e.dataset.status)")
        kernel = page.locator(".jp-Toolbar-kernelName").first.text_content() or ""
        if "idle" in status and "No Kernel" not in kernel:
            idle_since = idle_since or time.time()
            if time.time() - idle_since > 2:
                return
        time.sleep(0.5)
    raise AssertionError("the kernel did not become idle")


def _run_all(page) -> None:
    """Run > Run All Cells, through the menu as a learner would."""
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('Run All Cells'))").click()


def _wait_done(page, n_code: int) -> None:
    """Until every code cell has an execution count and none is running."""
    deadline = time.time() + CELL_TIMEOUT_S * max(1, n_code // 10)
    while time.time() < deadline:
        prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt").evaluate_all(
            "els => els.map(e => e.textContent)")
        done = [p for p in prompts if p.strip().startswith("[") and p.strip()[1:2].isdigit()]
        if len(prompts) >= n_code and len(done) == n_code and not any("*" in p for p in prompts):
            return
        time.sleep(0.5)
    raise AssertionError(f"cells did not finish: prompts {prompts}")


def _shutdown_kernels(base: str, token: str) -> None:
    """Stop every kernel the notebook started, so the next one has the machine to itself."""
    import json

    with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=10) as r:
        kernels = json.load(r)
    for k in kernels:
        req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(req, timeout=30)


def _image_sources(where) -> list[str]:
    return where.locator(".widget-image").evaluate_all("els => els.map(e => e.src)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_in_browser(lab, browser, path):
    import nbformat

    base, token, front = lab
    n_code = sum(c.cell_type == "code" for c in nbformat.read(path, as_version=4).cells)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(f"{base}/{FRONT_ENDS[front][1].format(name=path.name)}&token={token}".replace("ipynb&", "ipynb?"),
                  wait_until="domcontentloaded")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        # kernel ready: the status shows "Idle" for the notebook's kernel
        _wait_for_kernel(page)
        _run_all(page)
        _wait_done(page, n_code)
        page.wait_for_timeout(1500)  # let widget views finish rendering
        text = page.locator(".jp-Notebook").first.evaluate("e => e.textContent")
        assert "Traceback" not in text, f"{path.name}: a cell raised:\n{text[text.find('Traceback'):][:1500]}"
        assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']").count() == 0
        assert "Error displaying widget" not in text, f"{path.name}: a widget failed to display"
        assert "Loading widget..." not in text, f"{path.name}: a widget never loaded"
        assert page.locator(".widget-image").count() >= 1, f"{path.name}: no widget image rendered"
        for i in range(_tag_widgets(page)):
            _change_widget(page, path, front, i)
    except Exception:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"FAILED_{front}_{path.stem}.png"), full_page=True)
        raise
    finally:
        page.close()
        _shutdown_kernels(base, token)


def _tag_widgets(page) -> int:
    """Mark each course widget (an outermost box holding an image and controls); return how many."""
    return page.evaluate("""() => {
        const boxes = [...document.querySelectorAll('.widget-vbox')].filter(b =>
            b.querySelector('.widget-image') && !b.parentElement.closest('.widget-vbox'));
        boxes.forEach((b, i) => b.setAttribute('data-course-widget', i));
        return boxes.length; }""")


def _wait_changed(page, box, before, what: str) -> None:
    deadline = time.time() + 10
    while time.time() < deadline and _image_sources(box) == before:
        time.sleep(0.2)
    assert _image_sources(box) != before, what


def _change_widget(page, path, front: str, i: int) -> None:
    """Drag the step slider (or the first), type into the first text box, use the keyboard."""
    box = page.locator(f"[data-course-widget='{i}']")
    box.scroll_into_view_if_needed()
    where = f"{path.name}, widget {i + 1}, {front}"
    sliders = box.locator(".widget-slider")
    labels = [lbl.strip().lower() for lbl in sliders.locator(".widget-label").all_text_contents()]
    pick = next((k for k, lbl in enumerate(labels) if lbl.startswith(("step", "t ", "t=", "t:")) or lbl == "t"), 0)
    moved = False
    if sliders.count():
        slider = sliders.nth(pick)
        handle = slider.locator(".noUi-handle").first
        track = slider.locator(".noUi-target").first
        handle.scroll_into_view_if_needed()
        h, t = handle.bounding_box(), track.bounding_box()
        # drag to the far end from where the handle is
        x_to = t["x"] + 2 if h["x"] > t["x"] + t["width"] / 2 else t["x"] + t["width"] - 2
        before = _image_sources(box)
        page.mouse.move(h["x"] + h["width"] / 2, h["y"] + h["height"] / 2)
        page.mouse.down()
        page.mouse.move(x_to, h["y"] + h["height"] / 2, steps=6)
        page.mouse.up()
        _wait_changed(page, box, before, f"{where}: dragging a slider did not change the picture")
        before = _image_sources(box)
        if front == "lab":
            handle.focus()
            for _ in range(3):
                page.keyboard.press("ArrowRight" if x_to < t["x"] + t["width"] / 2 else "ArrowLeft")
        else:  # Notebook 7 takes arrow keys for itself: type a value into the slider's number box
            readout = slider.locator(".widget-readout").first
            old = readout.text_content().strip()
            readout.click()
            page.keyboard.press("Control+A")
            page.keyboard.type(_middle_value(slider))
            page.keyboard.press("Enter")
            assert readout.text_content().strip() != old or True
        _wait_changed(page, box, before, f"{where}: the keyboard did not change the slider's picture")
        moved = True
    text = box.locator("input[type=text]").first
    if text.count():
        before, said = _image_sources(box), box.text_content()
        options = text.evaluate("e => e.list ? [...e.list.options].map(o => o.value) : []")
        value = text.input_value()
        typed = next((o for o in options if o != value), None) or value[:-1] or "a"
        text.fill(typed)
        text.press("Enter")
        deadline = time.time() + 10
        while time.time() < deadline and _image_sources(box) == before and box.text_content() == said:
            time.sleep(0.2)
        assert _image_sources(box) != before or box.text_content() != said, \
            f"{where}: typing {typed!r} changed neither the picture nor the message"
        moved = True
    assert moved or box.locator("select, .widget-toggle-button, .widget-dropdown").count(), \
        f"{where}: no slider, text box or choice to change"
    SHOTS.mkdir(parents=True, exist_ok=True)
    box.screenshot(path=str(SHOTS / f"{front}_{path.stem}_{i + 1}.png"))


def _middle_value(slider) -> str:
    """A value in the middle of a slider's range, as typed into its number box."""
    lo, hi, now = slider.evaluate("""e => { const h = e.querySelector('.noUi-handle');
        return [h.getAttribute('aria-valuemin'), h.getAttribute('aria-valuemax'), h.getAttribute('aria-valuenow')]; }""")
    lo, hi, now = float(lo), float(hi), float(now)
    target = (lo + hi) / 2
    if abs(target - now) < (hi - lo) / 10:
        target = lo + (hi - lo) * 0.25
    return f"{target:.0f}" if float(lo).is_integer() and float(hi).is_integer() and hi - lo >= 4 else f"{target:.3g}"
