"""Deals: CRM deal events, deal boards with risk flags, and the pipeline-review queries."""
