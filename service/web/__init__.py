"""Server-rendered pages for people: login, sessions, CSRF, templates, charts, the pages."""
