"""The answer: composed from the decision, as an object, as text, JSON, a Telegram reply, a table or a chart."""
