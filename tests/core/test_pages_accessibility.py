"""Every page's HTML keeps the accessibility and CSP promises a browser test would check.

Plain test client, no browser: this runs everywhere, every time. It checks what can
be read from the markup alone (one h1, the skip link to <main id="main">, a label for
each field, errors tied to their fields, no inline script or style, assets only from
our own origin) and the Content-Security-Policy header. tests/e2e/ then checks in
Chromium what needs a browser: axe-core's rules, keyboard use, phone widths.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from tests.e2e.pages import PAGES, Page, cast_create, open_page

pytestmark = pytest.mark.django_db

# <input type=…> that need no <label>: hidden ones, and buttons, labelled by their value.
UNLABELLED_INPUT_TYPES = {"hidden", "submit", "button", "reset", "image"}
# <script type=…> that a browser never runs, so CSP's script-src does not apply to them.
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class PageParser(HTMLParser):
    """What the tests need to know about a page, gathered in one pass."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.html_lang: str | None = None
        self.title = ""
        self.h1_count = 0
        self.mains: list[dict] = []
        self.links: list[dict] = []  # every <a href>, in document order
        self.fields: list[dict] = []  # input/select/textarea, with the labels around them
        self.labels_for: set[str] = set()
        self.ids: list[str] = []
        self.described_by: list[tuple[str, str]] = []  # (element id or tag, referenced id)
        self.scripts: list[dict] = []
        self.styles: list[dict] = []
        self.stylesheets: list[str] = []
        self.images: list[dict] = []
        self.inline_style_attrs: list[str] = []
        self.handler_attrs: list[str] = []
        self._label_depth = 0
        self._fieldsets: list[str] = []  # aria-describedby of the fieldsets we are in

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if "id" in a:
            self.ids.append(a["id"])
        if "style" in a:
            self.inline_style_attrs.append(f"<{tag} style={a['style']!r}>")
        self.handler_attrs += [f"<{tag} {k}=…>" for k in a if k.startswith("on")]
        for ref in a.get("aria-describedby", "").split():
            self.described_by.append((a.get("id", tag), ref))
        if tag == "html":
            self.html_lang = a.get("lang")
        elif tag == "h1":
            self.h1_count += 1
        elif tag == "main":
            self.mains.append(a)
        elif tag == "a" and "href" in a:
            self.links.append(a)
        elif tag == "fieldset":
            self._fieldsets.append(a.get("aria-describedby", ""))
        elif tag == "label":
            self._label_depth += 1
            if a.get("for"):
                self.labels_for.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if tag == "input" and a.get("type", "text").lower() in UNLABELLED_INPUT_TYPES:
                return
            group = " ".join(self._fieldsets)
            self.fields.append({"tag": tag, "in_label": self._label_depth > 0, "group": group, **a})
        elif tag == "script":
            self.scripts.append(a)
        elif tag == "style":
            self.styles.append(a)
        elif tag == "link" and "stylesheet" in a.get("rel", "").split():
            self.stylesheets.append(a.get("href", ""))
        elif tag == "img":
            self.images.append(a)

    def handle_endtag(self, tag):
        if tag == "label" and self._label_depth:
            self._label_depth -= 1
        elif tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()

    def handle_data(self, data):
        if self.lasttag == "title":
            self.title += data
        if self.scripts and self.lasttag == "script" and data.strip():
            self.scripts[-1]["inline"] = True


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def is_own_origin(url: str) -> bool:
    """A path on this site: not another host, not protocol-relative."""
    return url.startswith("/") and not url.startswith("//")


@pytest.fixture
def cast(db):
    return cast_create()


def fetch(client, cast, spec: Page):
    """(the Page, its response, its parsed HTML)."""
    response = open_page(client, spec, cast)
    expected = (200, 400) if spec.submit else (200,)
    assert response.status_code in expected, (spec.id, response.status_code, response.get("Location"))
    return spec, response, parse(response.content.decode())


@pytest.fixture(params=PAGES, ids=lambda p: p.id)
def page(request, client, cast):
    return fetch(client, cast, request.param)


def test_csp_header_forbids_inline_script_and_style(page):
    _spec, response, _html = page
    header = response.headers.get("Content-Security-Policy")
    assert header, "no Content-Security-Policy header"
    directives = {d.split()[0]: d.split()[1:] for d in header.split(";") if d.strip()}
    for name in ("script-src", "style-src"):
        assert name in directives, header
        assert "'unsafe-inline'" not in directives[name], header
        assert "'unsafe-eval'" not in directives[name], header
    assert directives["object-src"] == ["'none'"], header
    assert directives["frame-ancestors"] == ["'none'"], header


def test_no_inline_script_or_style_and_every_asset_is_ours(page):
    _spec, response, html = page
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"])
    for script in html.scripts:
        if script.get("type", "").lower() in DATA_SCRIPT_TYPES:
            continue
        if script.get("inline"):
            assert nonce and script.get("nonce") == nonce.group(1), f"inline script without nonce: {script}"
        else:
            assert is_own_origin(script.get("src", "")), f"script from elsewhere: {script}"
    for style in html.styles:
        assert nonce and style.get("nonce") == nonce.group(1), f"<style> without nonce: {style}"
    assert html.inline_style_attrs == [], "style= attributes are blocked by style-src"
    assert html.handler_attrs == [], "event handler attributes are blocked by script-src"
    assert all(is_own_origin(href) for href in html.stylesheets), html.stylesheets
    for img in html.images:
        assert is_own_origin(img.get("src", "")) or img["src"].startswith("data:image/"), img
    assert not any(link["href"].lower().startswith("javascript:") for link in html.links)


def test_title_landmarks_heading_and_skip_link(page):
    _spec, _response, html = page
    assert html.html_lang, "<html> has no lang"
    assert html.title.strip(), "no <title>"
    assert html.h1_count == 1, f"{html.h1_count} <h1> on the page"
    assert len(html.mains) == 1
    assert html.mains[0].get("id") == "main"
    assert html.links[0].get("href") == "#main", f"the first link is {html.links[0]}, not the skip link"


def test_every_field_has_a_label(page):
    _spec, _response, html = page
    for field in html.fields:
        labelled = (
            field["in_label"]
            or field.get("id") in html.labels_for
            or field.get("aria-label", "").strip()
            or field.get("aria-labelledby", "").strip()
        )
        assert labelled, f"no label for {field}"


def test_images_have_text_alternatives(page):
    _spec, _response, html = page
    for img in html.images:
        assert "alt" in img, f"<img> without alt: {img.get('src', '')[:60]}"
        if img["src"].startswith("data:"):
            assert img["alt"].strip(), "a QR code (data: image) needs words to say what it is"


def test_ids_are_unique_and_every_reference_to_one_lands(page):
    _spec, _response, html = page
    duplicates = {i for i in html.ids if html.ids.count(i) > 1}
    assert not duplicates, f"duplicate ids: {duplicates}"
    for owner, ref in html.described_by:
        assert ref in html.ids, f"{owner} is described by #{ref}, which is not on the page"
    # In-page links: the skip link, and the error summary's links to the fields.
    for link in html.links:
        if link["href"].startswith("#") and len(link["href"]) > 1:
            assert link["href"][1:] in html.ids, f"a link to {link['href']}, which is not on the page"


@pytest.mark.parametrize("spec", [p for p in PAGES if p.submit], ids=lambda p: p.id)
def test_field_errors_are_summarised_and_tied_to_their_fields(client, cast, spec):
    _spec, response, html = fetch(client, cast, spec)
    body = response.content.decode()
    assert 'class="error-summary"' in body, "no error summary"
    invalid = [f for f in html.fields if f.get("aria-invalid") == "true"]
    assert invalid, "no field is marked aria-invalid"
    for field in invalid:
        # A field's own description, or its fieldset's for a group of radios or checkboxes.
        refs = (field.get("aria-describedby", "") + " " + field["group"]).split()
        assert any(ref.endswith("_error") for ref in refs), f"{field['id']}: its error is not announced"
