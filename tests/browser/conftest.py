"""Browser fixtures: Playwright driving Debian's Chromium against the live server."""

import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import (
    ConsoleMessage,
    Frame,
    Page,
    Response,
    expect,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError

from tests.conftest import PASSWORD, REPO

# Playwright's sync API keeps an asyncio loop marked as running in the main thread while it is
# started, which makes Django refuse ORM calls there (SynchronousOnlyOperation). Documented fix:
# https://docs.djangoproject.com/en/5.2/topics/async/#envvar-DJANGO_ALLOW_ASYNC_UNSAFE
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

SCREENSHOTS = REPO / "docs" / "screenshots"
ARTIFACTS = REPO / "test-artifacts" / "browser"
VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000  # a console page that takes longer than this is a failure, not a wait
ACCOUNT_ID = re.compile(r"\d{12}")
# axe-core (bundled by axe-playwright-python, injected into the page: nothing is fetched) with the
# WCAG 2.x A and AA rules, which include color-contrast, label, button-name, link-name and the
# aria-* rules, and its best practices (landmarks, headings, empty table headers).
AXE_OPTIONS = {
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"],
    },
    "resultTypes": ["violations", "incomplete"],
}
# The violations, and also text whose contrast axe could not work out (text drawn over other
# elements, say), except in two places where it cannot know what the reader sees: the charts'
# SVG labels, which plotly draws, and an open modal dialog, an opaque panel in the top layer
# that axe takes for text overlapping the page beneath it; and text gone from the page by the
# time it is checked (a chart's hover label that faded while axe ran).
AXE_RUN = """options => axe.run(document, options).then(r => r.violations.concat(
  r.incomplete
    .filter(v => v.id === "color-contrast")
    .map(v => ({...v, id: "color-contrast (undetermined)", nodes: v.nodes.filter(n => {
      const el = document.querySelector(n.target[0]);
      return el !== null && !el.closest(".chart, dialog[open]");
    })}))
    .filter(v => v.nodes.length)))"""

_RECORD = pytest.StashKey["BrowserRecord"]()
_REPORTS = pytest.StashKey[dict]()


def pytest_collection_modifyitems(items):
    """Mark every test under tests/browser/ with `browser`."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@dataclass
class BrowserRecord:
    """What one test's page did: its name, the console log and the JavaScript errors seen."""

    name: str
    log: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)


_PAGES: dict[int, BrowserRecord] = {}


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")


def _run_axe(page: Page) -> list[dict]:
    # A page that polls reloads itself when the work it shows is done; audit the new document.
    for _ in range(3):
        page.wait_for_load_state()
        try:
            page.evaluate(AXE_SCRIPT)
            return page.evaluate(AXE_RUN, AXE_OPTIONS)
        except PlaywrightError as exc:
            if "context was destroyed" not in str(exc):
                raise
    raise AssertionError(f"{page.url} kept navigating; it could not be audited")


def audit(page: Page) -> None:
    """Fail when the page breaks an accessibility rule or scrolls sideways at this width."""
    violations = _run_axe(page)
    found = [
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {n['html'][:200]}\n      {n['failureSummary']}" for n in v["nodes"][:5])
        for v in violations
    ]
    assert not found, f"Accessibility violations on {page.url}:\n" + "\n".join(found)
    widths = page.evaluate(
        "[document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways: {widths[0]} px in {widths[1]} px"


def shot(page: Page, name: str) -> Path:
    """Check the page (see `audit`) and save a full-page screenshot as
    docs/screenshots/<test name>-<name>.png."""
    audit(page)
    record = _PAGES[id(page)]
    path = SCREENSHOTS / f"{record.name}-{_safe(name)}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    record.shots.append(path)
    return path


def unique_username(prefix: str = "user") -> str:
    """Return a username no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign_up(page: Page, username: str | None = None, password: str = PASSWORD) -> dict:
    """Create a brand-new account through /accounts/signup/; return username and account id."""
    username = username or unique_username()
    page.goto("/accounts/signup/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Email").fill(f"{username}@example.com")
    page.get_by_label("Account name").fill(f"{username}'s team")
    page.get_by_label(re.compile(r"^Password")).fill(password)
    page.get_by_label("Confirm password").fill(password)
    page.get_by_role("button", name="Create account").click()
    account_id = page.get_by_test_id("account-id")
    expect(account_id).to_have_text(ACCOUNT_ID)
    return {"username": username, "password": password, "account_id": account_id.inner_text()}


def sign_in(page: Page, username: str, password: str = PASSWORD) -> str:
    """Sign in through /accounts/login/ (unless already on it); return the header's account id."""
    if "/accounts/login/" not in page.url:
        page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    account_id = page.get_by_test_id("account-id")
    expect(account_id).to_have_text(ACCOUNT_ID)
    return account_id.inner_text()


def open_version(page: Page, model: str, version: str) -> None:
    """From the side navigation to a classifier version's page, as a person clicks there."""
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Custom classification"
    ).click()
    page.get_by_role("link", name=model, exact=True).click()
    page.get_by_test_id("version-row").filter(has_text=version).get_by_role(
        "link", name=f"Details of version {version}"
    ).click()
    expect(page.get_by_role("heading", name=f"{model} · version {version}")).to_be_visible()


def sign_out(page: Page) -> None:
    """Press the header's "Sign out" button and land on the sign-in page."""
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_test_id("account-id")).to_have_count(0)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, launched once per test session."""
    executable = shutil.which("chromium")
    if executable is None:
        raise pytest.UsageError(
            "Browser tests need Debian's Chromium: apt-get install -y chromium "
            "(scripts/test.sh installs it)."
        )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item so the page fixture knows whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    record = item.stash.get(_RECORD, None)
    if report.failed and record is not None:
        report.sections.append(("browser artifacts", str(ARTIFACTS / record.name)))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test itself (not its teardown) when the page logged any JavaScript error, or when
    the page it ends on fails the audit."""
    result = yield
    record = item.stash.get(_RECORD, None)
    if record is not None:
        page = item.funcargs["page"]
        if not page.is_closed():
            audit(page)  # also a round trip that delivers console events still in flight
        if record.errors:
            pytest.fail("Errors in the browser console:\n" + "\n".join(record.errors))
    return result


def _on_console(record: BrowserRecord, message: ConsoleMessage) -> None:
    location = message.location or {}
    where = location.get("url", "")
    line = f"[console.{message.type}] {message.text}" + (f" ({where})" if where else "")
    record.log.append(line)
    if message.type == "error":
        record.errors.append(line)


def _on_response(record: BrowserRecord, response: Response) -> None:
    if response.status >= 400:
        # Chromium also logs every failed load as a console error, which fails the test.
        record.log.append(f"[http {response.status}] {response.request.method} {response.url}")


def _on_navigated(record: BrowserRecord, page: Page, frame: Frame) -> None:
    if frame == page.main_frame:
        record.log.append(f"[navigated] {frame.url}")


@pytest.fixture
def page(browser, live_server, request):
    """A fresh 1280x900 page on the live server; fails the test on any JavaScript error."""
    record = BrowserRecord(name=_safe(request.node.name))
    request.node.stash[_RECORD] = record
    failed_dir = ARTIFACTS / record.name
    shutil.rmtree(failed_dir, ignore_errors=True)  # stale artifacts of an earlier failing run
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    _PAGES[id(page)] = record
    page.on("console", lambda message: _on_console(record, message))
    page.on("pageerror", lambda error: record.errors.append(f"[pageerror] {error}"))
    page.on("pageerror", lambda error: record.log.append(f"[pageerror] {error.stack or error}"))
    page.on("response", lambda response: _on_response(record, response))
    page.on("requestfailed", lambda r: record.log.append(f"[failed] {r.url} {r.failure}"))
    page.on("framenavigated", lambda frame: _on_navigated(record, page, frame))
    try:
        yield page
    finally:
        reports = request.node.stash.get(_REPORTS, {})
        failed = any(r.failed for r in reports.values())
        try:
            if failed:
                failed_dir.mkdir(parents=True, exist_ok=True)
                (failed_dir / "console.log").write_text(
                    f"url: {page.url}\n" + "\n".join(record.log) + "\n"
                )
                for path in record.shots:  # docs/screenshots/ keeps only passing tests' pages
                    if path.exists():
                        shutil.move(path, failed_dir / path.name)
                if not page.is_closed():
                    page.screenshot(path=str(failed_dir / "screenshot.png"), full_page=True)
                    (failed_dir / "page.html").write_text(page.content())
            elif not page.is_closed():
                shot_path = SCREENSHOTS / f"{record.name}.png"
                page.screenshot(path=str(shot_path), full_page=True, animations="disabled")
        finally:
            _PAGES.pop(id(page), None)
            context.close()
