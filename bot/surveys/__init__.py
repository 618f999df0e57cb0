"""Quick sentiment surveys (issue 4): models, templates, anonymous storage, results, export."""
