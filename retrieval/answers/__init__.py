"""From a question to a cited answer: understanding it, the figure ledger, matching by meaning, the fitted
decision, composing and rendering."""
