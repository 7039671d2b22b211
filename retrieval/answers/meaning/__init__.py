"""Words that mean the same, and how well a question's words are found in a stretch of report text."""
