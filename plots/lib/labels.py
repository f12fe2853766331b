"""Text of the figures' labels."""

MAX_LABEL = 28


def truncate(text, limit=MAX_LABEL):
    """`text` on one line, cut to `limit` characters with an ellipsis when longer."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "\u2026"
