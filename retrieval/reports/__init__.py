"""Reports → passages with unit, year and section path, and the figures in them."""
