"""MCV in a real browser: WCAG 2.2 AA by axe-core, the keyboard, a phone's width, and CSP.

Debian's Chromium, driven by Playwright, against pytest-django's live server. Members
are logged in by copying a session made with Django's test client into the browser
(see tests/e2e/pages.py), so only the tests about logging in pay for the form. One
browser serves the whole module (tests/e2e/conftest.py); each test has its own context
(cookies, viewport).
tests/core/test_pages_accessibility.py checks the same pages' markup without a browser.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.conf import settings
from django.urls import reverse

from tests.e2e.pages import Page, cast_create, log_in, pages
from tests.factories import PASSWORD

pytestmark = [
    pytest.mark.browser,
    # The live server sees only committed data, so these tests run in transactions that
    # are flushed afterwards; serialized_rollback brings back what migrations created
    # (the consent texts) for them and for any transactional test after them.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PHONE_WIDTHS = (320, 360, 390)  # the narrowest phones in use, to the common ones
# Re-run at a phone's width: what the layout changes (the rest, contrast above all, is
# the slow part of axe and gives the same answer at any width).
AXE_RULES_THAT_DEPEND_ON_WIDTH = ["target-size", "scrollable-region-focusable", "meta-viewport"]
# What a page loads that CSP governs: all of it must come from our own origin.
ASSET_TYPES = {"script", "stylesheet", "image", "font", "media", "xhr", "fetch"}

# The pages axe-core and the phone checks walk (ids from tests/e2e/pages.py).
BROWSER_PAGES = pages(
    "home", "home-resident", "signup", "signup-errors", "login", "password-reset",
    "preferences", "privacy", "profile", "account-delete", "api-token", "mfa-activate",
    "mfa-activate-errors", "organisation-members", "officers", "officer-create-errors",
    "recovery-codes", "email", "email-add-errors", "password-change", "mfa-authenticate",
    "preferences-link", "groups", "inbox", "my-location", "groups-manage", "areas", "area-draw", "area-draw-errors",
    "area-responsibility", "cameras-mine", "camera-register", "camera-register-errors", "camera-search",
    "camera-coverage", "replies-mine", "replies-inbox", "replies-settings",
    "alerts-public", "alerts-manage", "alert-compose", "alert-compose-errors",
    "surveys-mine", "surveys-manage", "survey-create", "survey-create-errors",
)


@pytest.fixture(scope="module")
def axe():
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


@pytest.fixture
def cast(transactional_db):
    return cast_create()


@dataclass
class Visit:
    """A browser tab, and what it saw: CSP violations and requests to other origins."""

    page: object
    origin: str
    csp_violations: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        response = self.page.goto(self.origin + path)
        assert response is not None and response.status < 500, (path, response and response.status)

    def submit_form_empty(self, index: int = 0) -> None:
        """Clear every text box of a form in <main> and submit it, as a person who
        typed nothing would (the server's errors, not the browser's, then show)."""
        form = self.page.locator("main form[method=post]").nth(index)
        boxes = form.locator(
            "input:not([type=hidden]):not([type=checkbox]):not([type=radio])"
            ":not([type=submit]):not([type=button]):not([readonly]), textarea:not([readonly])"
        )
        for i in range(boxes.count()):
            if boxes.nth(i).is_visible():  # a box the page hides (filled by its script) is not typed in
                boxes.nth(i).fill("")
        with self.page.expect_navigation():
            form.locator("[type=submit]").first.click()

    def focused(self) -> dict:
        """The focused element: tag, id, class, href, and whether its focus shows."""
        return self.page.evaluate(
            """() => {
                const el = document.activeElement;
                const style = getComputedStyle(el);
                const outline = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0
                    && style.outlineColor !== 'rgba(0, 0, 0, 0)' && style.outlineColor !== 'transparent';
                return {
                    tag: el.tagName.toLowerCase(), id: el.id, cls: el.className,
                    href: el.getAttribute('href'), name: el.getAttribute('name'),
                    visible: outline || style.boxShadow !== 'none',
                    text: (el.innerText || el.value || '').trim().slice(0, 40),
                };
            }"""
        )


class Tabs:
    """Browser tabs on the live server, each in its own context, logged in as asked."""

    def __init__(self, browser, origin: str, client, cast: dict) -> None:
        self.browser, self.origin, self.client, self.cast = browser, origin, client, cast
        self.contexts: list = []

    def open(self, who: str | None = None, viewport: dict = DESKTOP) -> Visit:
        """A blank tab, logged in as `who` (a key of the cast; None: anonymous)."""
        context = self.browser.new_context(viewport=viewport, locale="en-GB")
        self.contexts.append(context)
        if who is not None:
            log_in(self.client, who, self.cast)
            context.add_cookies([{
                "name": settings.SESSION_COOKIE_NAME,
                "value": self.client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": self.origin,
            }])
        page = context.new_page()
        visit = Visit(page=page, origin=self.origin)
        # The event is the page's own report of each blocked script, style or image;
        # the console message is Chromium's, and also covers what no event reaches.
        page.expose_binding(
            "__mcvCspViolation", lambda _source, text: visit.csp_violations.append(text)
        )
        page.add_init_script(
            """document.addEventListener('securitypolicyviolation', (e) => {
                window.__mcvCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'}`
                    + ` at ${e.sourceFile}:${e.lineNumber}`);
            });"""
        )
        page.on("console", lambda msg: visit.csp_violations.append(msg.text)
                if "Content Security Policy" in msg.text else None)
        page.on("request", lambda request: visit.foreign_requests.append(
            f"{request.resource_type} {request.url}")
            if request.resource_type in ASSET_TYPES
            and not request.url.startswith((self.origin + "/", "data:")) else None)
        return visit

    def open_page(self, spec: Page, viewport: dict = DESKTOP) -> Visit:
        """The page as its member sees it; if `spec.submit`, after submitting it empty."""
        visit = self.open(spec.who, viewport)
        visit.goto(spec.url(self.cast))
        if spec.submit:
            visit.submit_form_empty(spec.form)
        return visit

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def tabs(browser, live_server, client, cast):
    tabs = Tabs(browser, live_server.url, client, cast)
    yield tabs
    tabs.close()


def axe_violations(axe, visit: Visit, rules: list[str] | None = None) -> list[str]:
    """axe-core's WCAG 2.x A and AA violations on the page (or only those `rules`)."""
    if not visit.page.evaluate("() => typeof window.axe === 'object'"):
        visit.page.evaluate(axe.axe_script)  # once per page, not per run
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": WCAG_AA_TAGS}
    results = visit.page.evaluate(
        "(options) => axe.run(document, options)", {"runOnly": only, "resultTypes": ["violations"]}
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(node["target"]) for node in v["nodes"][:5])
        for v in results["violations"]
    ]


# --- a., c. and d.: axe-core at a desktop's and a phone's width, nothing scrolls
# sideways on a phone (320 to 390px), and CSP is kept. One visit per page keeps the run
# short; a failure lists every problem the page has.


@pytest.mark.parametrize("spec", BROWSER_PAGES, ids=lambda p: p.id)
def test_page_meets_wcag_aa_fits_a_phone_and_keeps_to_csp(tabs, axe, spec):
    visit = tabs.open_page(spec)
    problems = {"axe at 1280px": axe_violations(axe, visit)}
    for width in PHONE_WIDTHS:
        visit.page.set_viewport_size({"width": width, "height": PHONE["height"]})
        scroll_width, inner_width = visit.page.evaluate(
            "() => [document.scrollingElement.scrollWidth, window.innerWidth]"
        )
        if scroll_width > inner_width:
            problems[f"scrolls sideways at {width}px"] = [f"{scroll_width}px wide"]
    visit.page.set_viewport_size(PHONE)
    problems["axe at 360px"] = axe_violations(axe, visit, rules=AXE_RULES_THAT_DEPEND_ON_WIDTH)
    problems["CSP violations"] = visit.csp_violations
    problems["assets from elsewhere"] = visit.foreign_requests
    problems = {k: v for k, v in problems.items() if v}
    assert problems == {}, f"{spec.id}: {problems}"


def test_api_documentation_keeps_to_csp(tabs):
    """Swagger UI, linked from every page's footer: its files are ours, and CSP holds.
    axe-core is not run on it: its contrast and nested controls are Swagger UI's own."""
    visit = tabs.open()
    visit.goto(reverse("api-docs"))
    visit.page.wait_for_selector(".opblock")  # rendered from the schema: the script ran
    assert visit.csp_violations == []
    assert visit.foreign_requests == []


# --- b. the keyboard


def press_tab_until(visit: Visit, selector: str, limit: int = 40) -> list[dict]:
    """Tab until `selector` has focus; every stop on the way, as `Visit.focused` says."""
    stops = []
    for _ in range(limit):
        visit.page.keyboard.press("Tab")
        stops.append(visit.focused())
        if visit.page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return stops
    raise AssertionError(f"{selector} never got focus; stops: {[s['text'] or s['tag'] for s in stops]}")


@pytest.mark.parametrize("spec", pages("home", "preferences", "mfa-activate"), ids=lambda p: p.id)
def test_first_tab_is_the_skip_link_and_it_moves_focus_to_main(tabs, spec):
    visit = tabs.open_page(spec)
    visit.page.keyboard.press("Tab")
    focused = visit.focused()
    assert (focused["tag"], focused["href"]) == ("a", "#main")
    assert focused["visible"], "the skip link shows no focus"
    box = visit.page.locator("a.skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, f"skip link off screen: {box}"

    visit.page.keyboard.press("Enter")

    assert visit.focused()["id"] == "main"
    # And the next Tab goes on from there: into the page, not back to the header.
    visit.page.keyboard.press("Tab")
    assert visit.page.evaluate("() => document.getElementById('main').contains(document.activeElement)")


@pytest.mark.parametrize(
    "spec", pages("signup", "preferences", "privacy", "mfa-activate"), ids=lambda p: p.id
)
def test_focus_is_visible_at_every_tab_stop(tabs, spec):
    visit = tabs.open_page(spec)
    unseen, seen = [], set()
    for _ in range(120):
        visit.page.keyboard.press("Tab")
        focused = visit.focused()
        key = (focused["tag"], focused["id"], focused["href"], focused["name"], focused["text"])
        if focused["tag"] == "body" or key in seen:
            break  # round the page and back
        seen.add(key)
        if not focused["visible"]:
            unseen.append(focused)
    assert len(seen) > 3, f"only {len(seen)} tab stops"
    assert unseen == []


def test_log_in_with_the_keyboard_alone(tabs):
    visit = tabs.open()
    visit.goto(reverse("account_login"))

    stops = press_tab_until(visit, "#id_login")
    visit.page.keyboard.type("resident@example.org")
    # On the way: the "Forgot your password?" link in the password's hint.
    stops += press_tab_until(visit, "#id_password", limit=3)
    visit.page.keyboard.type(PASSWORD)
    with visit.page.expect_navigation():
        visit.page.keyboard.press("Enter")

    assert visit.page.url == visit.origin + reverse("home")
    assert visit.page.locator("h1").inner_text() == "Hello, Alex"
    assert all(stop["visible"] for stop in stops), [s for s in stops if not s["visible"]]


def test_change_settings_with_the_keyboard_alone(tabs):
    resident = tabs.cast["resident"]
    assert (resident.preferences.channel_email, resident.preferences.frequency) == (True, "immediate")
    visit = tabs.open("resident")
    visit.goto(reverse("members:preferences"))

    press_tab_until(visit, "#id_channel_email")
    visit.page.keyboard.press("Space")  # untick
    press_tab_until(visit, "input[name=frequency]:checked")
    visit.page.keyboard.press("ArrowDown")  # the next choice: a daily digest
    press_tab_until(visit, "#preferences-form button[type=submit]")
    with visit.page.expect_navigation():
        visit.page.keyboard.press("Enter")

    assert visit.page.locator(".messages").inner_text().strip() == "Your settings are saved."
    resident.preferences.refresh_from_db()
    assert (resident.preferences.channel_email, resident.preferences.frequency) == (False, "daily_digest")


def test_errors_are_announced_and_each_leads_to_its_field(tabs):
    visit = tabs.open()
    visit.goto(reverse("account_signup"))
    press_tab_until(visit, "#id_email")
    with visit.page.expect_navigation():
        visit.page.keyboard.press("Enter")  # submits the form, empty

    # Focus is on the summary (role=alert), so it is read out at once.
    focused = visit.focused()
    assert "error-summary" in focused["cls"]
    assert visit.page.locator(".error-summary").get_attribute("role") == "alert"
    assert visit.page.title().startswith("Error: ")
    # Its first link, followed by keyboard, puts the cursor in the field to fix.
    visit.page.keyboard.press("Tab")
    assert visit.focused()["href"] == "#id_email"
    visit.page.keyboard.press("Enter")
    assert visit.focused()["id"] == "id_email"
    described_by = visit.page.locator("#id_email").get_attribute("aria-describedby").split()
    assert "id_email_error" in described_by
    error = " ".join(visit.page.locator("#id_email_error").text_content().split())
    assert error == "Error: This field is required."
