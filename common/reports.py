"""The insights report's folder: written by `python -m loader.report`, served by the gateway."""

PAGE = "report.html"
FACTS = "facts.json"
FIGURES = "figures"
