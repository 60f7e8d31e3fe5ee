"""Pure speech and language processing for Dealsight: no database, no web framework."""
