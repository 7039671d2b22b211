"""Understanding a question: its units and year, topic words, measure word, kind, follow-ups, English."""
