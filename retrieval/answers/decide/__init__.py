"""Choosing the figure: the figure ledger, each candidate's features, the fitted decision, and which reports a
question is decided in."""
