"""Signing in to the pages: the form, cookies, CSRF, expiry, throttling, redirects, users."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from models import User, WebSession
from models.base import utcnow
from service.app import create_app
from service.db import make_engine, make_sessionmaker, session_scope
from service.errors import BadRequest, Conflict
from service.settings import Settings
from service.tenants.service import TenantCredentials
from service.web.passwords import hash_password, verify_password
from service.web.users import create_user
from tests.conftest import make_settings
from tests.processes import DEALSIGHT, Proc, free_port, service_env
from tests.web_support import PASSWORD, add_user, csrf_from, login


def sessions_of(settings: Settings, email: str) -> list[WebSession]:
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            return list(
                s.execute(
                    select(WebSession)
                    .join(User, User.id == WebSession.user_id)
                    .where(User.email == email)
                ).scalars()
            )
    finally:
        engine.dispose()


def age_sessions(settings: Settings, email: str, **values: object) -> None:
    """Move a user's sessions in time (test data set-up, as if hours had passed)."""
    engine = make_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as s:
            ids = [w.id for w in sessions_of(settings, email)]
            s.execute(update(WebSession).where(WebSession.id.in_(ids)).values(**values))
    finally:
        engine.dispose()


def test_browser_without_session_is_sent_to_login_and_back(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant, name="Mia Manager")
    target = f"/conversations/{uuid.uuid4()}?t=12.5"
    r = idle_client.get(target, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=" + target.replace("?", "%3F").replace("=", "%3D")
    form = idle_client.get(r.headers["location"])
    assert form.status_code == 200 and 'type="password"' in form.text
    assert f'name="next" value="{target}"' in form.text
    assert "dealsight_login_csrf" in form.headers["set-cookie"]
    r = login(idle_client, email.upper(), next_url=target)
    assert r.status_code == 303 and r.headers["location"] == target
    cookie = r.headers["set-cookie"]
    assert "dealsight_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie  # plain http in tests
    token = idle_client.cookies["dealsight_session"]
    # Only the token's hash is stored.
    stored = sessions_of(settings, email)
    assert len(stored) == 1 and stored[0].id != token and len(stored[0].id) == 64
    page = idle_client.get(f"/conversations/{uuid.uuid4()}")
    assert page.status_code == 404  # signed in: a missing id is a 404 page, not a redirect
    assert "Mia Manager" in page.text and "Acme" in page.text and "Sign out" in page.text


def test_secure_cookie_when_served_over_https(
    database_url: str, tmp_path: Path, tenant: TenantCredentials
) -> None:
    settings = make_settings(database_url, tmp_path, public_url="https://deals.example")
    email = add_user(settings, tenant)
    app = create_app(settings, start_workers=False)
    with TestClient(app, base_url="https://testserver") as c:
        r = login(c, email)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_wrong_password_unknown_email_and_disabled_user_are_refused_alike(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    disabled = add_user(settings, tenant)
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine)) as s:
        s.execute(update(User).where(User.email == disabled).values(disabled_at=utcnow()))
    engine.dispose()
    for who, password in (
        (email, "wrong password!"),
        ("nobody@x.example", PASSWORD),
        (disabled, PASSWORD),
        (email, ""),
        ("", ""),
    ):
        r = login(idle_client, who, password)
        assert r.status_code == 401, (who, r.text)
        assert "do not match an active account" in r.text
        assert "dealsight_session" not in idle_client.cookies
    assert sessions_of(settings, email) == []


def test_disabling_a_user_ends_their_sessions(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    assert login(idle_client, email).status_code == 303
    assert idle_client.get("/login").status_code == 200
    probe = f"/conversations/{uuid.uuid4()}"
    assert idle_client.get(probe, follow_redirects=False).status_code == 404
    engine = make_engine(settings)
    with session_scope(make_sessionmaker(engine)) as s:
        from service.web.users import disable_user

        disable_user(s, tenant_id=uuid.UUID(tenant.tenant_id), email=email)
    engine.dispose()
    r = idle_client.get(probe, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_logout_needs_the_csrf_token_and_ends_the_session(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    assert login(idle_client, email).status_code == 303
    page = idle_client.get(f"/conversations/{uuid.uuid4()}")
    token = csrf_from(page.text)
    cookie = idle_client.cookies["dealsight_session"]
    for data in ({}, {"csrf_token": "forged"}, {"csrf_token": token + "x"}):
        r = idle_client.post("/logout", data=data, follow_redirects=False)
        assert r.status_code == 403 and "text/html" in r.headers["content-type"]
        assert "not sent from a Dealsight page" in r.text
    # The right token from another site (Origin header) is refused too.
    r = idle_client.post(
        "/logout",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert len(sessions_of(settings, email)) == 1
    r = idle_client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert sessions_of(settings, email) == []
    idle_client.cookies.set("dealsight_session", cookie)  # a copied cookie is dead too
    r = idle_client.get(f"/conversations/{uuid.uuid4()}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_login_form_is_csrf_checked(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    page = idle_client.get("/login")
    token = csrf_from(page.text)
    base = {"email": email, "password": PASSWORD, "next": ""}
    cases: list[tuple[dict[str, str], dict[str, str]]] = [
        ({}, {}),  # no token
        ({"csrf_token": "not-the-cookie"}, {}),
        ({"csrf_token": token}, {"Origin": "https://evil.example"}),
        ({"csrf_token": token}, {"Origin": "null"}),
        ({"csrf_token": token}, {"Referer": "http://evil.example/login"}),
    ]
    for extra, headers in cases:
        r = idle_client.post(
            "/login", data={**base, **extra}, headers=headers, follow_redirects=False
        )
        assert r.status_code == 403, (extra, headers)
        assert "came from another site" in r.text
    idle_client.cookies.delete("dealsight_login_csrf")
    r = idle_client.post("/login", data={**base, "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 403
    assert sessions_of(settings, email) == []
    # Same-site Origin is fine.
    r = login(idle_client, email, Origin="http://testserver")
    assert r.status_code == 303


@pytest.mark.parametrize("field", ["expires_at", "last_seen_at"])
def test_expired_and_idle_sessions_are_over(
    field: str, idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    assert login(idle_client, email).status_code == 303
    probe = f"/conversations/{uuid.uuid4()}"
    assert idle_client.get(probe, follow_redirects=False).status_code == 404
    # Past the absolute lifetime, or unused for longer than the idle limit (2 h by default).
    age_sessions(settings, email, **{field: utcnow() - timedelta(hours=3)})
    r = idle_client.get(probe, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/login?next={probe}"
    assert sessions_of(settings, email) == []  # the stale row is removed


def test_session_lifetime_follows_settings(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    before = utcnow()
    r = login(idle_client, email)
    assert f"Max-Age={settings.web.session_ttl_s}" in r.headers["set-cookie"]
    (row,) = sessions_of(settings, email)
    lifetime = row.expires_at - before
    assert timedelta(seconds=settings.web.session_ttl_s - 5) < lifetime
    assert lifetime <= timedelta(seconds=settings.web.session_ttl_s + 5)


def test_repeated_failures_are_throttled(
    idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    for _ in range(settings.web.login_max_failures):
        assert login(idle_client, email, "wrong password!").status_code == 401
    # Now even the right password waits: guessing cannot continue at full speed.
    r = login(idle_client, email)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "too many failed sign-ins" in r.text
    assert sessions_of(settings, email) == []


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "/review\r\nLocation: https://evil.example",
        "evil.example",
        "/logout",
        "/login?next=//evil.example",
    ],
)
def test_next_never_leaves_the_site(
    target: str, idle_client: TestClient, settings: Settings, tenant: TenantCredentials
) -> None:
    email = add_user(settings, tenant)
    form = idle_client.get("/login", params={"next": target})
    assert 'name="next" value="/review"' in form.text
    r = login(idle_client, email, next_url=target)
    assert r.status_code == 303 and r.headers["location"] == "/review"


def test_user_service_validates_input(settings: Settings, tenant: TenantCredentials) -> None:
    engine = make_engine(settings)
    tid = uuid.UUID(tenant.tenant_id)
    try:
        for kwargs, error in (
            ({"email": "not-an-email"}, BadRequest),
            ({"role": "owner"}, BadRequest),
            ({"password": "short"}, BadRequest),
            ({"password": "x" * 2000}, BadRequest),
        ):
            args = {
                "email": f"{uuid.uuid4().hex[:6]}@x.example",
                "role": "manager",
                "password": PASSWORD,
                **kwargs,
            }
            with pytest.raises(error), session_scope(make_sessionmaker(engine)) as s:
                create_user(s, tenant_id=tid, **args)  # type: ignore[arg-type]
        email = f"{uuid.uuid4().hex[:6]}@X.example"
        with session_scope(make_sessionmaker(engine)) as s:
            user = create_user(s, tenant_id=tid, email=email, role="enablement", password=PASSWORD)
            assert user.email == email.lower() and user.password_hash.startswith("scrypt$")
            assert PASSWORD not in user.password_hash
        with pytest.raises(Conflict), session_scope(make_sessionmaker(engine)) as s:
            create_user(s, tenant_id=tid, email=email.upper(), role="admin", password=PASSWORD)
    finally:
        engine.dispose()


def test_password_hashes_are_salted_and_strict() -> None:
    a, b = hash_password("same password"), hash_password("same password")
    assert a != b and verify_password("same password", a) and verify_password("same password", b)
    assert not verify_password("same passworD", a)
    for broken in ("", "scrypt$", a.replace("scrypt", "md5"), a[:-4], "scrypt$99999999$8$1$a$b"):
        assert not verify_password("same password", broken)


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DEALSIGHT, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


def test_cli_user_create_then_sign_in(tmp_path: Path) -> None:
    env = service_env(tmp_path / "var", f"sqlite:///{tmp_path / 'cli.db'}")
    assert run_cli(["db", "upgrade"], env).returncode == 0
    tenant = json.loads(run_cli(["tenant", "create", "Acme"], env).stdout)
    secret = "a long enough password"
    out = run_cli(
        [
            "user",
            "create",
            "--tenant",
            tenant["tenant_id"],
            "--email",
            "Lee@Acme.example",
            "--role",
            "enablement",
            "--password-stdin",
        ],
        env,
        stdin=secret + "\n",
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["email"] == "lee@acme.example"
    assert secret not in out.stdout + out.stderr
    again = run_cli(
        [
            "user",
            "create",
            "--tenant",
            tenant["tenant_id"],
            "--email",
            "lee@acme.example",
            "--password-stdin",
        ],
        env,
        stdin=secret + "\n",
    )
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = run_cli(
        ["user", "create", "--tenant", "nope", "--email", "x@acme.example", "--password-stdin"],
        env,
        stdin=secret + "\n",
    )
    assert bad.returncode == 2 and "tenant" in bad.stderr
    settings = make_settings(f"sqlite:///{tmp_path / 'cli.db'}", tmp_path / "var")
    with TestClient(create_app(settings, start_workers=False)) as c:
        assert login(c, "lee@acme.example", secret).status_code == 303
    off = run_cli(
        ["user", "disable", "--tenant", tenant["tenant_id"], "--email", "LEE@acme.example"], env
    )
    assert off.returncode == 0, off.stderr
    with TestClient(create_app(settings, start_workers=False)) as c:
        assert login(c, "lee@acme.example", secret).status_code == 401


def test_first_local_start_creates_an_admin_who_can_sign_in(tmp_path: Path) -> None:
    data = tmp_path / "var"
    env = service_env(data, "", DEALSIGHT_ENV="local", DEALSIGHT_JOBS__WORKERS="1")
    del env["DEALSIGHT_DATABASE_URL"]
    port = free_port()
    proc = Proc([DEALSIGHT, "serve", "--port", str(port), "--no-workers"], env, tmp_path / "log")
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                # /healthz: without workers /readyz reports the executor as not ready.
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.popen.poll() is None, proc.output()
            time.sleep(0.2)
        else:
            raise AssertionError(f"server not up after 60 s:\n{proc.output()}")
        creds_file = data / "first-admin.json"
        assert creds_file.stat().st_mode & 0o777 == 0o600
        creds = json.loads(creds_file.read_text())
        assert creds["password"] in proc.output() and "/login" in proc.output()
        with httpx.Client(base_url=url) as c:
            r = login(c, creds["email"], creds["password"])
            assert r.status_code == 303, r.text
            page = c.get(f"/conversations/{uuid.uuid4()}")
            assert page.status_code == 404 and "Admin" in page.text and "Default" in page.text
    finally:
        proc.stop()
