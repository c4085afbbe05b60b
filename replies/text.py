"""What people write in replies: reduced to plain text on the way in, and checked for trigger words."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from functools import lru_cache

import nh3

MAX_LENGTH = 5000
# Control characters other than tab and newline: invisible, and a way to smuggle text
# past a reader's eye (or a trigger-word check).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def plain_text(raw: str) -> str:
    """The text of what was typed, with every tag, script, style, event handler and link
    taken out, as the plain text that is stored.

    nh3 with no tags allowed drops the markup (and the contents of <script> and
    <style>); its output is escaped HTML, which is unescaped back to text. Markup that
    was itself escaped (`&lt;script&gt;`) would come back as markup after unescaping, so
    the cleaning repeats until nothing changes: what is stored never holds a tag,
    whoever later forgets to escape it. Newlines are kept; other control characters go.
    """
    text = _CONTROL.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
    for _ in range(5):
        cleaned = html.unescape(nh3.clean(text, tags=set()))
        if cleaned == text:
            break
        text = cleaned
    else:
        # Nested beyond any honest use: keep it escaped rather than unescape once more.
        text = nh3.clean(text, tags=set())
    return text.strip()


def normalise_words(words: Iterable[str]) -> list[str]:
    """A trigger-word list as stored: trimmed, single-spaced, lower case, no repeats, sorted."""
    seen: set[str] = set()
    for word in words:
        word = " ".join(plain_text(word).split()).lower()
        if word:
            seen.add(word)
    return sorted(seen)


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern | None:
    if not words:
        return None
    # Longest first, so "kill myself" wins over a shorter word at the same place; any
    # run of spaces inside a phrase matches; a word must not be part of a longer one
    # ("gun" is not in "begun", "knife" is in "knife-crime").
    alternatives = sorted((r"\s+".join(re.escape(part) for part in w.split()) for w in words), key=len, reverse=True)
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + r")(?!\w)", re.IGNORECASE)


def trigger_words_in(text: str, words: Iterable[str]) -> list[str]:
    """The trigger words (from `words`) that `text` uses as whole words or phrases, any case."""
    pattern = _pattern(tuple(normalise_words(words)))
    if pattern is None:
        return []
    found = {" ".join(m.group(0).lower().split()) for m in pattern.finditer(text)}
    return sorted(found)
