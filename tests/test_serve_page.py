"""The page `crossmodal serve` shows at /, driven in a real headless Chromium.

A real server (the CLI in a subprocess, on 127.0.0.1, stopped by PID) on a real store that
`crossmodal update` builds with the builtin models; Debian's chromium driven over the Chrome
DevTools Protocol on a pipe (`--remote-debugging-pipe`: no websocket, no extra package). Every
test fails on a console error, an uncaught exception or a Content-Security-Policy violation.
CROSSMODAL_UPDATE_DOCS=1 copies the two screenshots to docs/."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.served import Served

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
CLI = [sys.executable, "-m", "cli.main"]
IMAGES = ["cat_chelsea.png", "coffee_cup.webp", "rocket_launch.jpg", "grass.png",
          "moon_surface.png", "dahlia_flower.jpg", "motorcycle_left.jpg", "china_pagoda.jpg"]  # fmt: skip
SOUNDS = ["bell.oga", "boom.wav", "car_door.wav", "memo_03.flac", "phone-incoming-call.oga"]
NOTES = 45  # generated notes, so that "a" over everything fills more than one page of 60
TOKEN = "page-test-token"
WIDTH, HEIGHT = 1280, 900
# What the page may log as an error on purpose: the answer to a request the test made fail.
EXPECTED_400 = "the server responded with a status of 400"

CSP_PROBE = """document.addEventListener("securitypolicyviolation", (e) => {
  __cspViolation(JSON.stringify({directive: e.violatedDirective, blocked: e.blockedURI,
                                 source: e.sourceFile, line: e.lineNumber}));
}, true);"""

KEYS = {  # key: (code, windowsVirtualKeyCode, text)
    "/": ("Slash", 191, "/"),
    "Enter": ("Enter", 13, "\r"),
    "ArrowRight": ("ArrowRight", 39, ""),
    "ArrowLeft": ("ArrowLeft", 37, ""),
    "ArrowDown": ("ArrowDown", 40, ""),
    "l": ("KeyL", 76, "l"),
    "d": ("KeyD", 68, "d"),
    "m": ("KeyM", 77, "m"),
}


# -- the store and the server ---------------------------------------------------------------
def make_collection(root: Path) -> Path:
    for folder in ("photos", "sounds", "video", "notes"):
        (root / folder).mkdir(parents=True)
    for name in IMAGES:
        shutil.copy(SAMPLE / "images" / name, root / "photos" / name)
    for name in SOUNDS:
        shutil.copy(SAMPLE / "audio" / name, root / "sounds" / name)
    shutil.copy(SAMPLE / "video" / "garden.mkv", root / "video" / "garden.mkv")
    for text in sorted((SAMPLE / "text").glob("*.txt")):
        shutil.copy(text, root / "notes" / text.name)
    topics = ["a walk by the lake", "a cup of coffee", "the rocket launch", "a sleeping cat",
              "rain on the window", "a train journey", "the garden in spring"]  # fmt: skip
    for n in range(NOTES):
        (root / "notes" / f"day_{n:02d}.txt").write_text(
            f"Day {n}: {topics[n % len(topics)]}, then a quiet evening at home.\n"
        )
    return root


# -- Chromium over the DevTools protocol -----------------------------------------------------
def _above(fd: int, low: int) -> int:
    """The same file as fd, on a descriptor number of at least low (fd is closed): so that
    the child's redirections to 3 and 4 never overwrite a descriptor they read from."""
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)
    os.close(fd)
    return moved


class Chromium:
    """Headless chromium with the DevTools protocol on file descriptors 3 and 4: JSON
    messages, each ended by a NUL byte. A reader thread files replies by id and keeps events."""

    def __init__(self, binary: str, folder: Path) -> None:
        to_read, self._out = os.pipe()  # chromium reads commands on its fd 3
        self._in, from_write = os.pipe()  # and writes replies and events on its fd 4
        to_read, from_write = (_above(fd, 10) for fd in (to_read, from_write))
        flags = [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--no-default-browser-check", "--remote-debugging-pipe",
            "--autoplay-policy=no-user-gesture-required", "--mute-audio", "--hide-scrollbars",
            "--disable-extensions", "--disable-background-networking", "--disable-sync",
            "--disable-component-update", "--disable-default-apps", "--password-store=basic",
            "--disable-features=Translate,MediaRouter,OptimizationHints",
            f"--user-data-dir={folder / 'profile'}", f"--window-size={WIDTH},{HEIGHT}",
        ]  # fmt: skip
        script = f'exec "$0" "$@" 3<&{to_read} 4>&{from_write} {to_read}<&- {from_write}>&-'
        self.log = open(folder / "chromium.log", "wb")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(
            ["bash", "-c", script, binary, *flags, "about:blank"],
            pass_fds=(to_read, from_write),
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=self.log,
        )
        os.close(to_read)
        os.close(from_write)
        self._ids = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self._done = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._in, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            *messages, buffer = buffer.split(b"\0")
            with self._done:
                for raw in messages:
                    message = json.loads(raw)
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self.events.append(message)
                self._done.notify_all()
        with self._done:
            self._closed = True
            self._done.notify_all()

    def send(
        self, method: str, params: dict[str, Any] | None = None, session: str | None = None
    ) -> dict[str, Any]:
        with self._done:
            self._ids += 1
            number = self._ids
        message: dict[str, Any] = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        while data:
            data = data[os.write(self._out, data) :]
        deadline = time.monotonic() + 60
        with self._done:
            while number not in self._replies:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise AssertionError(f"chromium did not answer {method}")
                self._done.wait(left)
            reply = self._replies.pop(number)
        if "error" in reply:
            raise AssertionError(f"{method}: {reply['error']}")
        return reply["result"]

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, OSError):
                self.send("Browser.close")
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        os.close(self._out)
        self._reader.join(timeout=5)
        os.close(self._in)
        self.log.close()


class Page:
    """One tab: evaluate, wait for, type, press keys, click (real mouse events), capture."""

    def __init__(self, browser: Chromium) -> None:
        self.browser = browser
        targets = browser.send("Target.getTargets")["targetInfos"]
        pages = [t["targetId"] for t in targets if t["type"] == "page"]
        target = pages[0] if pages else browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]  # fmt: skip
        self.target = target
        self.session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for method in ("Page.enable", "Runtime.enable", "Log.enable"):
            self.send(method)
        self.send("Runtime.addBinding", {"name": "__cspViolation"})
        self.send("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_PROBE})
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        browser.send("Target.setDiscoverTargets", {"discover": True})
        self.mark = 0
        self.allowed: list[str] = []

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, self.session)

    def evaluate(self, expression: str) -> Any:
        answer = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise AssertionError(f"{expression}: {details.get('exception', details)}")
        return answer["result"].get("value")

    def wait(self, expression: str, what: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                shown = self.evaluate("document.querySelector('#status')?.textContent")
                raise AssertionError(f"waited {timeout} s for {what}; status line: {shown!r}")
            time.sleep(0.1)

    def open(self, url: str) -> None:
        self.send("Page.navigate", {"url": url})
        self.wait("document.readyState === 'complete'", f"{url} to load")

    def key(self, key: str) -> None:
        code, number, text = KEYS[key]
        down = {"type": "keyDown" if text else "rawKeyDown", "key": key, "code": code,
                "windowsVirtualKeyCode": number, "nativeVirtualKeyCode": number, "text": text}  # fmt: skip
        self.send("Input.dispatchKeyEvent", down)
        self.send("Input.dispatchKeyEvent", {**down, "type": "keyUp", "text": ""})

    def type(self, text: str) -> None:
        self.send("Input.insertText", {"text": text})

    def click(self, selector: str) -> None:
        where = self.evaluate(f"""(() => {{
            const node = document.querySelector({json.dumps(selector)});
            if (!node) return null;
            node.scrollIntoView({{block: "center"}});
            const box = node.getBoundingClientRect();
            return [box.x + box.width / 2, box.y + box.height / 2];
        }})()""")
        assert where, f"nothing to click at {selector}"
        x, y = where
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        for kind in ("mousePressed", "mouseReleased"):
            self.send(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )

    def screenshot(self, path: Path) -> Path:
        self.evaluate("window.scrollTo(0, 0)")
        self.wait(  # the pictures in view have arrived
            "[...document.images].filter(i => i.getBoundingClientRect().top < innerHeight)"
            ".every(i => i.complete)",
            "the pictures in view",
        )
        data = self.send("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def problems(self) -> list[str]:
        """Console errors, exceptions, CSP violations and dialogs since `mark`."""
        found = []
        for event in self.browser.events[self.mark :]:
            if event.get("sessionId") not in (None, self.session):
                continue
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                text = f"{params['entry'].get('url', '')} {params['entry']['text']}"
                if not any(allowed in text for allowed in self.allowed):
                    found.append(f"log: {text}")
            elif method == "Runtime.bindingCalled" and params["name"] == "__cspViolation":
                found.append(f"CSP violation: {params['payload']}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog: {params}")
        return found

    # -- the search page's own steps --------------------------------------------------------
    def search(self, text: str, kind: str = "all") -> list[int]:
        self.evaluate(f"document.querySelector('#type').value = {json.dumps(kind)}")
        self.click("#q")
        self.evaluate("document.querySelector('#q').value = ''")
        self.type(text)
        self.mark_results()
        self.key("Enter")
        return self.new_results(f"results for {text!r}")

    def mark_results(self) -> None:
        """Marks the cards shown now, so that new_results waits for others."""
        self.evaluate(
            "document.querySelectorAll('#results > .card').forEach(c => c.dataset.old = 1)"
        )

    def new_results(self, what: str) -> list[int]:
        self.wait(
            "!document.querySelector('#status.busy') && !document.querySelector('#results[aria-busy]')"
            " && document.querySelector('#results > .card:not([data-old])') !== null",
            what,
        )
        return self.ids("#results")

    def ids(self, grid: str) -> list[int]:
        return self.evaluate(
            f"[...document.querySelectorAll('{grid} > .card')].map(c => Number(c.dataset.id))"
        )


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium_binary() -> str:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.skip("chromium is not installed (make install adds it with apt-get)")
    return binary


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, chromium_binary: str) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("page")
    media = make_collection(base / "media")
    store = base / "store"
    done = subprocess.run(
        [*CLI, "update", str(media), "--store", str(store), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return media, store


@pytest.fixture(scope="module")
def server(built: tuple[Path, Path]) -> Iterator[Served]:
    served = Served(built[1])
    yield served
    served.stop()
    assert served.proc.returncode == 0


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory, chromium_binary: str) -> Iterator[Page]:
    chromium = Chromium(chromium_binary, tmp_path_factory.mktemp("chromium"))
    try:
        yield Page(chromium)
    finally:
        chromium.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shots")


@pytest.fixture
def page(browser: Page, server: Served) -> Iterator[Page]:
    """The search page, fresh (no profile), and after the test: nothing went wrong in it."""
    browser.open(server.url)
    browser.evaluate("sessionStorage.clear()")
    browser.open(server.url)
    browser.wait("document.querySelector('#stats').textContent", "the store's figures")
    browser.mark, browser.allowed = len(browser.browser.events), []
    yield browser
    time.sleep(0.2)  # late messages
    assert browser.problems() == []


def keep_for_docs(shot: Path, name: str) -> None:
    if os.environ.get("CROSSMODAL_UPDATE_DOCS") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / name)


def active(page: Page) -> Any:
    return page.evaluate(
        "(() => { const a = document.activeElement; return a.id || a.dataset.id || a.tagName; })()"
    )


# -- the tests -----------------------------------------------------------------------------
def test_text_search_shows_cards_with_decoded_thumbnails(page: Page, shots: Path) -> None:
    page.key("/")
    assert active(page) == "q"
    page.type("a cat")
    page.key("Enter")
    ids = page.new_results("a cat")
    assert 1 < len(ids) <= 60
    page.wait(
        "(() => { const shown = [...document.querySelectorAll('#results .card.image img')].slice(0, 3);"
        " return shown.length === 3 && shown.every(i => i.complete && i.naturalWidth > 0); })()",
        "the first three thumbnails to decode",
    )
    names = page.evaluate(
        "[...document.querySelectorAll('#results .card .name')].map(n => n.textContent)"
    )
    assert "cat_chelsea.png" in names[:3], names
    # documents show their matched words, sounds a player, videos a thumbnail at the scene
    doc = page.evaluate("document.querySelector('#results .card.text .words')?.textContent")
    assert doc and "cat" in doc.lower(), doc
    assert page.evaluate(
        "document.querySelector('#results .card.audio audio[preload=none]') !== null"
    )
    video = page.evaluate("document.querySelector('#results .card.video img')?.getAttribute('src')")
    assert video and video.startswith("/thumb/"), video
    assert (
        page.evaluate("document.querySelector('#query-title').textContent") == "Results for “a cat”"
    )
    assert page.evaluate("document.querySelector('#status').textContent").startswith("Found in ")
    assert page.evaluate("document.querySelector('.pager .range').textContent") == "results 1-60"
    keep_for_docs(page.screenshot(shots / "serve-search.png"), "serve-search.png")


def test_more_like_this_searches_by_the_image(page: Page) -> None:
    before = page.search("a cat")
    image_id, name = page.evaluate(
        "(() => { const c = document.querySelector('#results .card.image');"
        " return [Number(c.dataset.id), c.querySelector('.name').textContent]; })()"
    )
    page.mark_results()
    page.click(f'#results .card[data-id="{image_id}"] .more')
    page.wait("document.querySelector('#results').dataset.query === 'image'", "an image query")
    after = page.new_results("more like this")
    assert after != before and image_id not in after
    assert (
        page.evaluate("document.querySelector('#query-title').textContent") == f"More like {name}"
    )
    assert page.evaluate("document.querySelector('#q').value") == ""


def test_likes_build_recommendations_with_because(page: Page, shots: Path) -> None:
    page.search("a cat")
    hint = page.evaluate("document.querySelector('#recommend-hint').textContent")
    assert "Like a few" in hint and page.ids("#recommendations") == []
    liked = page.ids("#results")[0]
    page.click(f'#results .card[data-id="{liked}"] .like')
    first = page.wait(
        "document.querySelector('#recommendations').dataset.ids", "recommendations after a like"
    )
    assert page.evaluate(f"""document.querySelector('#results .card[data-id="{liked}"] .like')
        .getAttribute('aria-pressed')""") == "true"  # fmt: skip
    # the second like by keyboard, on the first recommendation
    second = int(first.split(",")[0])
    page.evaluate(
        f"""document.querySelector('#recommendations .card[data-id="{second}"]').focus()"""
    )
    page.key("l")
    now = page.wait(
        f"""(() => {{ const ids = document.querySelector('#recommendations').dataset.ids;
            return ids && ids !== {json.dumps(first)} && ids; }})()""",
        "the recommendations to change after a second like",
    )
    assert str(second) not in now.split(",") and str(liked) not in now.split(",")
    because = page.evaluate(
        "[...document.querySelectorAll('#recommendations .because')].map(b => b.textContent)"
    )
    assert because and all(b.startswith("because you liked ") for b in because), because
    names = page.evaluate(
        "[...document.querySelectorAll('#profile .chip')].map(c => c.textContent)"
    )
    assert len(names) == 2 and all(n.startswith("+ ") for n in names), names
    keep_for_docs(page.screenshot(shots / "serve-recommend.png"), "serve-recommend.png")
    # a dislike by keyboard, then the profile survives a reload (sessionStorage)
    page.evaluate("document.querySelector('#results > .card:not(.liked)').focus()")
    page.key("d")
    page.wait("document.querySelectorAll('#profile .chip.dislike').length === 1", "a dislike")
    page.open(page.evaluate("location.href"))
    page.wait("document.querySelectorAll('#profile .chip').length === 3", "the profile again")
    page.wait("document.querySelector('#recommendations').dataset.ids", "recommendations again")


def test_a_sound_plays(page: Page) -> None:
    ids = page.search("the cat slept on the sofa", "audio")  # memo_03.flac: 4.5 s
    assert ids and page.evaluate(
        "[...document.querySelectorAll('#results .card')].every(c => c.dataset.modality === 'audio')"
    )
    assert page.evaluate("document.querySelector('#results .card .name').textContent") == (
        "memo_03.flac"
    )
    page.evaluate("document.querySelector('#results audio').play().then(() => true)")
    page.wait(
        "(() => { const a = document.querySelector('#results audio');"
        " return !a.paused && a.currentTime > 0 && !a.error; })()",
        "the sound to play",
        timeout=15,
    )
    page.evaluate("document.querySelector('#results audio').pause()")
    # a video plays in its card from the scene that matched (a media fragment, #t=START)
    page.search("flowers in a garden", "video")
    start = page.evaluate("document.querySelector('#results .card.video').dataset.start")
    page.click("#results .card.video .play")
    page.wait(
        "(() => { const v = document.querySelector('#results .card.video video');"
        f" return v && !v.paused && !v.error && v.currentTime > {float(start or 0)}; }})()",
        "the video to play",
        timeout=15,
    )
    src = page.evaluate("document.querySelector('#results .card.video video').getAttribute('src')")
    assert src.startswith("/media/") and (start is None or src.endswith(f"#t={start}")), src
    page.evaluate("document.querySelector('#results .card.video video').pause()")


def test_keyboard_moves_between_cards_and_acts(page: Page) -> None:
    page.key("/")
    assert active(page) == "q"
    page.type("a")
    page.key("Enter")
    ids = page.new_results("a")
    page.key("ArrowDown")  # from the box to the first card
    assert active(page) == str(ids[0])
    page.key("ArrowRight")
    assert active(page) == str(ids[1])
    page.key("ArrowLeft")
    assert active(page) == str(ids[0])
    page.key("ArrowDown")  # a row down: as many cards on as the grid has columns
    columns = page.evaluate(
        "(() => { const cards = [...document.querySelectorAll('#results > .card')];"
        " return cards.filter(c => c.offsetTop === cards[0].offsetTop).length; })()"
    )
    assert columns > 1 and active(page) == str(ids[columns])
    page.evaluate(
        "document.querySelector('#results > .card').focus()"
    )  # the first card: Enter opens its file in a new tab
    seen = len(page.browser.events)
    page.key("Enter")
    deadline = time.monotonic() + 10
    opened = None
    while opened is None and time.monotonic() < deadline:
        for event in page.browser.events[seen:]:
            info = event.get("params", {}).get("targetInfo", {})
            if event["method"] in ("Target.targetCreated", "Target.targetInfoChanged") and (
                f"/media/{ids[0]}" in info.get("url", "")
            ):
                opened = info
        time.sleep(0.1)
    assert opened, "Enter did not open the file"
    page.browser.send("Target.closeTarget", {"targetId": opened["targetId"]})
    page.key("m")  # more like this, on the focused card
    page.wait("document.querySelector('#query-title').textContent.startsWith('More like')", "m")


def test_paging_shows_one_page_of_60_at_a_time(page: Page) -> None:
    first = page.search("a")
    assert len(first) == 60
    assert page.evaluate("document.querySelector('.pager .range').textContent") == "results 1-60"
    assert page.evaluate("document.querySelector('.pager .prev').disabled")
    page.mark_results()
    page.click(".pager .next")
    page.wait(
        "document.querySelector('.pager .range').textContent.startsWith('results 61-')", "page 2"
    )
    second = page.new_results("page 2")
    assert second and len(second) <= 60 and not set(first) & set(second)
    shown = page.evaluate("document.querySelector('.pager .range').textContent")
    assert shown == f"results 61-{60 + len(second)}"
    assert page.evaluate("document.querySelectorAll('.card').length") == len(second)
    page.click(".pager .prev")
    page.wait("document.querySelector('.pager .range').textContent === 'results 1-60'", "page 1")
    assert page.ids("#results") == first


def test_search_by_a_chosen_and_a_dropped_file(page: Page) -> None:
    picture = SAMPLE / "images" / "coffee_cup.webp"
    page.evaluate("document.querySelector('#type').value = 'image'")
    document = page.send("DOM.getDocument")["root"]["nodeId"]
    node = page.send("DOM.querySelector", {"nodeId": document, "selector": "#file"})["nodeId"]
    page.mark_results()
    page.send("DOM.setFileInputFiles", {"files": [str(picture)], "nodeId": node})
    page.wait(
        "document.querySelector('#query-title').textContent.includes('coffee_cup.webp')", "upload"
    )
    page.new_results("an uploaded picture")
    names = page.evaluate(
        "[...document.querySelectorAll('#results .card .name')].map(n => n.textContent)"
    )
    assert names[0] == "coffee_cup.webp", names
    assert page.evaluate("document.querySelector('#query-preview img').naturalWidth > 0")
    # a sound dropped on the page
    page.evaluate("document.querySelector('#type').value = 'audio'")
    sound = SAMPLE / "audio" / "bell.oga"
    page.mark_results()
    drag = {"items": [], "files": [str(sound)], "dragOperationsMask": 1}
    for kind in ("dragEnter", "dragOver", "drop"):
        page.send("Input.dispatchDragEvent", {"type": kind, "x": 600, "y": 500, "data": drag})
    page.wait("document.querySelector('#query-title').textContent.includes('bell.oga')", "drop")
    page.new_results("a dropped sound")
    names = page.evaluate(
        "[...document.querySelectorAll('#results .card .name')].map(n => n.textContent)"
    )
    assert names[0] == "bell.oga", names
    assert page.evaluate("document.querySelector('#drop-zone').hidden")


def test_an_api_error_is_shown_in_the_status_line(page: Page) -> None:
    page.allowed.append(EXPECTED_400)
    page.click("#under")
    page.type("/no/such/folder")
    page.click("#q")
    page.type("a cat")
    page.key("Enter")
    page.wait("document.querySelector('#status.error') !== null", "an error")
    message = page.evaluate("document.querySelector('#status').textContent")
    assert message.startswith("Search failed: ") and "no such folder" in message, message


def test_the_docs_page_lists_the_endpoints(browser: Page, server: Served) -> None:
    browser.mark, browser.allowed = len(browser.browser.events), []
    browser.open(server.url + "static/docs.html")
    browser.wait("document.querySelectorAll('#docs .operation').length >= 2", "the endpoints")
    paths = browser.evaluate(
        "[...document.querySelectorAll('.operation .path')].map(p => p.textContent)"
    )
    assert {"/search", "/recommend", "/thumb/{item_id}", "/media/{item_id}"} <= set(paths)
    fields = browser.evaluate(
        "[...document.querySelectorAll('#schema-SearchRequest td:first-child')].map(t => t.textContent)"
    )
    assert {"text", "upload", "offset", "under", "after", "before"} <= set(fields)
    assert browser.evaluate(
        "document.querySelector('a[href=\"#schema-RecommendRequest\"]') !== null"
    )
    time.sleep(0.2)
    assert browser.problems() == []


def test_the_policy_is_enforced_and_its_violations_are_caught(page: Page) -> None:
    """The page's quiet console means something: an inline style is refused here, and seen."""
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    page.wait("getComputedStyle(document.body).color !== 'rgb(255, 0, 0)'", "the style refused")
    time.sleep(0.3)
    found = page.problems()
    assert any("CSP violation" in problem and "style-src" in problem for problem in found), found
    page.mark = len(page.browser.events)


def test_a_token_in_the_address_is_used_and_hidden(browser: Page, built: tuple[Path, Path]) -> None:
    served = Served(built[1], "--token", TOKEN)
    try:
        browser.mark, browser.allowed = len(browser.browser.events), []
        browser.open(f"{served.url}?token={TOKEN}")
        browser.wait("document.querySelector('#stats').textContent", "the store's figures")
        assert browser.evaluate("location.search") == ""
        browser.search("a cat")
        browser.wait(
            "[...document.querySelectorAll('#results .card.image img')].slice(0, 2)"
            ".every(i => i.complete && i.naturalWidth > 0)",
            "thumbnails through the cookie",
        )
        time.sleep(0.2)
        assert browser.problems() == []
    finally:
        served.stop()
