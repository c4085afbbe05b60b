"""Parts of an email that differ for each recipient, contributed by other apps.

An email is rendered once per dispatch (notifications.channels.DispatchEmail); a part
that must differ per recipient, such as a quick poll's one-tap answer links signed for
each delivery, comes from a hook registered here. A hook takes the dispatch and returns
None (nothing to add to this one) or a function of a delivery giving (text, html): the
plain-text lines and the HTML (already escaped) placed after the message's body.

Apps register their hooks in `AppConfig.ready()`.
"""

from __future__ import annotations

from collections.abc import Callable

from .models import Delivery, Dispatch

Block = Callable[[Delivery], tuple[str, str]]
Hook = Callable[[Dispatch], Block | None]

_hooks: list[Hook] = []


def register(hook: Hook) -> Hook:
    if hook not in _hooks:
        _hooks.append(hook)
    return hook


def blocks_for(dispatch: Dispatch) -> list[Block]:
    """The per-recipient parts this dispatch's emails carry (once per dispatch, not per member)."""
    return [block for hook in _hooks if (block := hook(dispatch)) is not None]
