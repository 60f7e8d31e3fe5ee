"""Pipeline components, one per module; registered explicitly in nlp/registry.py."""
