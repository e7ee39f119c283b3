"""Stages 5 and 6, rank and deliver: each recipient's best five of the day (`rank`), rendered as
text, HTML, Atom, Markdown and CSV (`render`), and emailed once through the store's outbox (`mail`)."""
