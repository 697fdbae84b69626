"""An inbox item's actions: the buttons a person can follow from it.

They come from the item's data (the event's, unless the item has its own) as
`data.actions`, a list of up to two `{"label", "url"}` objects: the first is the
primary action, the second the secondary one, and any further ones are ignored.

Event data is input from other services, so each action is checked when it is shown,
not trusted from when it was published: a label must be a non-empty string (cut to
ACTION_LABEL_MAX), and the url must pass the one link rule of apps.common.links
(https:, http: or relative). An action that fails either is left out entirely, so a
`javascript:` url is never rendered, not even as an inert link.
"""

from apps.common.links import link_or_empty

ACTION_KINDS = ("primary", "secondary")
ACTION_LABEL_MAX = 80


def inbox_actions(data) -> list[dict]:
    """[{"kind", "label", "url"}] of `data.actions`, the unsafe or malformed left out."""
    actions = data.get("actions") if isinstance(data, dict) else None
    if not isinstance(actions, list):
        return []
    shown = []
    for kind, action in zip(ACTION_KINDS, actions, strict=False):
        if not isinstance(action, dict):
            continue
        label, url = action.get("label"), action.get("url")
        if not isinstance(label, str) or not label.strip() or not isinstance(url, str):
            continue
        url = link_or_empty(url)
        if url:
            shown.append({"kind": kind, "label": label.strip()[:ACTION_LABEL_MAX], "url": url})
    return shown
