"""A first local start prints working addresses: the port the service really listens on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.processes import service_env, start_server


def test_first_start_banner_names_the_served_port(tmp_path: Path) -> None:
    db = tmp_path / "local.db"
    env = service_env(tmp_path, f"sqlite:///{db}", DEALSIGHT_ENV="local")
    proc, url = start_server(env, tmp_path / "server.log")
    try:
        out = proc.output()
        creds = json.loads((tmp_path / "first-tenant.json").read_text())
        hook = re.search(r"webhook URL\s+(\S+)", out)
        sign_in = re.search(r"sign in at\s+(\S+)", out)
        assert hook is not None and sign_in is not None, out
        assert hook.group(1) == f"{url}/v1/webhooks/crm/{creds['tenant_id']}"
        assert sign_in.group(1) == f"{url}/login"
        # The printed address answers.
        assert httpx.get(sign_in.group(1), timeout=5).status_code == 200
    finally:
        proc.stop()
