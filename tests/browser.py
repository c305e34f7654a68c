"""Drive Debian's Chromium with Playwright, for the tests that look at the MLflow UI.

Playwright's own browser download cannot run here (no network beyond the package
registries), so the tests use the distribution's `/usr/bin/chromium`
(`.ci/install-browser.sh` installs it and the `playwright` package).

`PageCheck` wraps a page with waits that fail readably: on a timeout it saves a
screenshot and raises an AssertionError naming the page and what was missing.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))

# Headless in a container, with no network beyond 127.0.0.1: without the background-networking
# flags Chromium tries to reach Google's update, sync and field-trial services at start-up.
CHROMIUM_ARGS = [
    "--no-sandbox",  # the tests run as root, which Chromium's sandbox refuses
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Requests the page may make: the tracking server's. The UI's telemetry and anything
# else is refused at once, so a test never waits on (or depends on) the internet.
LOCAL_URL = re.compile(r"^https?://(127\.0\.0\.1|localhost)[:/]")

# Set to 1 to also write the screenshots the lab guide shows, into docs/images/.
UPDATE_ENV = "UPDATE_GUIDE_SCREENSHOTS"
GUIDE_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"

DEFAULT_TIMEOUT_S = 20


def missing_browser() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the Python package playwright is not installed (bash .ci/install-browser.sh)"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (bash .ci/install-browser.sh, or set CHROMIUM=/path/to/chromium)"
    return None


@contextmanager
def chromium():
    """A headless Chromium, started with fresh, empty user data (Playwright's temporary folder)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, width: int = 1920, height: int = 1000):
    """A page in a context of its own (no cookies or local storage from other tests), local requests only."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.route(lambda url: not LOCAL_URL.match(url), lambda route: route.abort())
    return context.new_page()


class PageCheck:
    """Waits on one page of the UI; a missing element fails the test with a screenshot to look at."""

    def __init__(self, page, name: str, screenshots: Path):
        self.page = page
        self.name = name
        self.screenshots = screenshots

    def expect(self, locator, what: str, timeout_s: float = DEFAULT_TIMEOUT_S):
        """Wait until `locator` shows; `what` says what it is, for the failure message."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            locator.first.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            path = self.screenshot(f"failed-{self.name.replace(' ', '-')}")
            raise AssertionError(
                f"{self.name}: no element showing {what} after {timeout_s:g} s; screenshot at {path}"
            ) from None
        return locator.first

    def expect_text(self, text: str, what: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        return self.expect(self.page.get_by_text(text, exact=True), what or repr(text), timeout_s)

    def screenshot(self, name: str) -> Path:
        """Save the viewport as `<screenshots>/<name>.png`, and into docs/images/ when updating the guide."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        path = self.screenshots / f"{name}.png"
        self.page.screenshot(path=path)
        if os.environ.get(UPDATE_ENV) == "1" and not name.startswith("failed-"):
            GUIDE_IMAGES.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, GUIDE_IMAGES / f"mlflow-ui-{name}.png")
        return path


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG file's header chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG file")
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
