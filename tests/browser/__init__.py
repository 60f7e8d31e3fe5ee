"""Browser tests: real Chromium against a real server."""
