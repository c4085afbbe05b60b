"""What an officer types is stored sanitised: no script, no event handler, no `javascript:` link
ever reaches a resident, in the page, the inbox or the email."""

from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError

from alerts.rendering import links_clean, links_from_text, markdown_to_html

pytestmark = pytest.mark.django_db


def parsed(html: str) -> list[tuple[str, dict[str, str]]]:
    """Every element of the HTML as a browser would build it: (tag, attributes)."""
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, {k: v or "" for k, v in attrs}))

    Parser().feed(html)
    return found


@pytest.mark.parametrize(
    "typed",
    [
        "<script>alert('x')</script>",
        '<img src="x" onerror="alert(1)">',
        '<a href="javascript:alert(1)" onclick="alert(2)">click</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<svg onload="alert(1)"></svg>',
        '<iframe src="https://evil.example"></iframe>',
    ],
)
def test_dangerous_markup_is_stored_harmless(typed):
    html = markdown_to_html(f"Before {typed} after")

    elements = parsed(html)
    assert {tag for tag, _ in elements} <= {"p", "a", "strong", "em"}
    for tag, attrs in elements:
        assert not [name for name in attrs if name.startswith("on")], (tag, attrs)
        if "href" in attrs:
            assert attrs["href"].startswith(("https://", "http://", "mailto:")), attrs
    assert "Before" in html and "after" in html  # the officer's words survive


def test_event_handlers_never_become_attributes():
    html = markdown_to_html('<b onmouseover="steal()">hover</b> **bold**')
    # Raw HTML is shown as text, never parsed into an element with the handler.
    assert "<b onmouseover" not in html
    assert "<strong>bold</strong>" in html


def test_markdown_formatting_and_safe_links_are_kept_with_noopener():
    html = markdown_to_html(
        "# Heading\n\nCall **101** or see [our site](https://kent.police.uk/appeal).\n\n"
        "- one\n- two\n\nEmail [us](mailto:appeals@kent.police.uk)."
    )
    assert "<h2>Heading</h2>" in html  # below the page's own h1
    assert "<strong>101</strong>" in html
    assert '<a href="https://kent.police.uk/appeal" rel="noopener noreferrer">our site</a>' in html
    assert '<a href="mailto:appeals@kent.police.uk" rel="noopener noreferrer">us</a>' in html
    assert "<ul>" in html and "<li>one</li>" in html


def test_links_are_http_or_https_only_with_a_clear_message():
    assert links_from_text("Appeal page | https://kent.police.uk/a\nhttp://example.org/b") == [
        {"title": "Appeal page", "url": "https://kent.police.uk/a"},
        {"title": "example.org", "url": "http://example.org/b"},
    ]
    with pytest.raises(ValidationError, match="Link 2 is not a web address"):
        links_from_text("https://ok.example\nSteal | javascript:alert(1)")
    with pytest.raises(ValidationError, match="at most 10"):
        links_clean([{"title": "x", "url": f"https://x.example/{i}"} for i in range(11)])
