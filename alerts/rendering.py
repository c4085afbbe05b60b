"""From what an officer typed to what residents see: Markdown to clean HTML, and links checked.

Two locks on the door: markdown-it-py renders with raw HTML switched off (a `<script>`
typed into the body comes out as text) and refuses `javascript:` links; then nh3
keeps only the tags a message needs, links only to http, https and mailto, each with
rel="noopener noreferrer". Inboxes and emails clean the HTML once more on the way out.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from markdown_it import MarkdownIt

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "ul", "ol", "li", "a", "h2", "h3", "h4",
    "blockquote", "code", "pre", "hr", "del", "s",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}
MAX_LINKS = 10


def _headings_below_the_title(state) -> None:
    """A `# Heading` in the body becomes an h2: the alert's title is the page's only h1."""
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 4)}"


_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("strikethrough")
_markdown.core.ruler.push("mcv_headings", _headings_below_the_title)


def html_clean(html: str) -> str:
    """Keep only the tags and link schemes a message needs (nh3)."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )


def markdown_to_html(text: str) -> str:
    """The body as residents see it: Markdown rendered, then sanitised."""
    return html_clean(_markdown.render(text or ""))


_url = URLValidator(schemes=["http", "https"])


def links_clean(value: object) -> list[dict[str, str]]:
    """A list of {"title", "url"} with http(s) URLs only; raise ValidationError saying which is wrong."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError("Links must be a list.")
    if len(value) > MAX_LINKS:
        raise ValidationError(f"Give at most {MAX_LINKS} links.")
    links = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, dict):
            raise ValidationError(f"Link {number} must have a title and a URL.")
        url = str(item.get("url", "")).strip()
        title = " ".join(str(item.get("title", "")).split())[:200]
        try:
            _url(url)
        except ValidationError as exc:
            raise ValidationError(
                f"Link {number} is not a web address starting with https:// or http:// ({url[:60]!r})."
            ) from exc
        links.append({"title": title or urlsplit(url).netloc, "url": url})
    return links


def links_from_text(text: str) -> list[dict[str, str]]:
    """Links as an officer types them: one per line, "https://…" or "Title | https://…"."""
    items = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        title, _, url = line.rpartition("|") if "|" in line else ("", "", line)
        items.append({"title": title.strip(), "url": url.strip()})
    return links_clean(items)


def links_to_text(links: list[dict[str, str]]) -> str:
    return "\n".join(f"{link['title']} | {link['url']}" if link.get("title") else link["url"] for link in links or [])
