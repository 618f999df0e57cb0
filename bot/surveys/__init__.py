"""Quick sentiment surveys: models, templates, anonymous storage, results, export."""
