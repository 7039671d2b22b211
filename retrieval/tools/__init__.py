"""Around the core: evaluation, training the decision, benchmarks, reviews of reported figures."""
