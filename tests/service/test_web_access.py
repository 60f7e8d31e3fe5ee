"""Who sees what on the pages: API keys, other tenants, the audio endpoint, hostile input."""

from __future__ import annotations

import json
import uuid
from html import unescape
from importlib import resources

import pytest
from fastapi.testclient import TestClient

from service.settings import Settings
from service.tenants.service import TenantCredentials
from tests.conftest import AUDIO
from tests.service.deal_support import deal_event, post_deal
from tests.support import auth, metadata, multipart_body
from tests.web_support import add_user, login

XSS = "<script>alert(1)</script>"


def upload(
    client: TestClient, creds: TenantCredentials, clip: str, content_type: str = "audio/wav"
) -> str:
    meta = metadata(deal={"external_id": "D-1", "name": "Acme renewal"})
    body, ctype = multipart_body(
        meta, (AUDIO / clip).read_bytes(), filename=clip, content_type=content_type
    )
    r = client.post("/v1/calls", content=body, headers={**auth(creds), "Content-Type": ctype})
    assert r.status_code == 202, r.text
    return str(r.json()["conversation_id"])


def post_email(client: TestClient, creds: TenantCredentials, text: str) -> str:
    body = {
        "external_id": f"mail-{uuid.uuid4().hex[:8]}",
        "deal": {"external_id": "D-1"},
        "from": "chris@buyer.example",
        "to": ["dana@seller.example"],
        "subject": f"Re: {XSS}",
        "body": text,
    }
    r = client.post("/v1/emails", json=body, headers=auth(creds))
    assert r.status_code == 202, r.text
    return str(r.json()["conversation_id"])


def deal_uuid(client: TestClient, creds: TenantCredentials, external_id: str = "D-1") -> str:
    items = client.get("/v1/deals", headers=auth(creds)).json()["items"]
    return str(next(d["id"] for d in items if d["external_id"] == external_id))


def test_api_key_opens_the_same_pages(
    idle_client: TestClient, tenant: TenantCredentials, other_tenant: TenantCredentials
) -> None:
    assert post_deal(idle_client, tenant, deal_event("D-1", name="Mine")).status_code == 200
    assert post_deal(idle_client, other_tenant, deal_event("D-1", name="Theirs")).status_code == 200
    r = idle_client.get("/deals", headers=auth(tenant), follow_redirects=False)
    assert r.status_code == 200 and "Mine" in r.text and "Theirs" not in r.text
    assert "API key" in r.text and "Sign out" not in r.text
    r = idle_client.get("/review", headers=auth(tenant))
    assert r.status_code == 200 and "Wins since the last review" in r.text
    # A wrong key is a 401 page for the script, not a redirect to a form.
    for header in ("Bearer dsk_nope", "Bearer " + "x" * 300):
        r = idle_client.get("/deals", headers={"Authorization": header}, follow_redirects=False)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert "text/html" in r.headers["content-type"]


def test_other_tenants_ids_are_not_found_on_every_page(
    idle_client: TestClient,
    settings: Settings,
    tenant: TenantCredentials,
    other_tenant: TenantCredentials,
) -> None:
    call = upload(idle_client, tenant, "short_mono.wav")
    mail = post_email(idle_client, tenant, "The price is far too high for us.")
    assert post_deal(idle_client, tenant, deal_event("D-1")).status_code == 200
    deal = deal_uuid(idle_client, tenant)
    mine = [f"/conversations/{call}", f"/conversations/{mail}", f"/deals/{deal}"]
    owner = add_user(settings, tenant)
    assert login(idle_client, owner).status_code == 303
    for path in [*mine, f"/conversations/{call}/audio"]:
        assert idle_client.get(path).status_code == 200, path
    idle_client.cookies.clear()
    stranger = add_user(settings, other_tenant)
    assert login(idle_client, stranger).status_code == 303
    for path in [
        *mine,
        f"/conversations/{call}/audio",
        f"/conversations/{uuid.uuid4()}",
        f"/deals/{uuid.uuid4()}",
        "/conversations/not-a-uuid",
        "/deals/..%2F..%2Fetc",
        "/nowhere",
    ]:
        r = idle_client.get(path)
        assert r.status_code == 404, path
        assert "text/html" in r.headers["content-type"] and "Not found" in r.text
        assert "Acme renewal" not in r.text and call not in r.text
    # The other tenant's API key is no better.
    for path in mine:
        assert idle_client.get(path, headers=auth(other_tenant)).status_code == 404
    # The JSON API keeps its JSON errors.
    r = idle_client.get(f"/v1/conversations/{call}", headers=auth(other_tenant))
    assert r.status_code == 404 and r.json()["error"] == "not_found"


def test_audio_is_streamed_with_ranges_and_a_probed_type(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    raw = (AUDIO / "short_mono.wav").read_bytes()
    # The client claims text/html: we serve what the file is, never what was claimed.
    call = upload(idle_client, tenant, "short_mono.wav", content_type="text/html")
    url = f"/conversations/{call}/audio"
    h = auth(tenant)
    full = idle_client.get(url, headers=h)
    assert full.status_code == 200 and full.content == raw
    assert full.headers["content-type"] == "audio/wav"
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-security-policy"] == "sandbox"
    part = idle_client.get(url, headers={**h, "Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == raw[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(raw)}"
    tail = idle_client.get(url, headers={**h, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == raw[-10:]
    beyond = idle_client.get(url, headers={**h, "Range": f"bytes={len(raw) + 10}-"})
    assert beyond.status_code == 416
    bad = idle_client.get(url, headers={**h, "Range": "bytes=abc"})
    assert bad.status_code == 400  # malformed: Starlette refuses it rather than guessing
    assert beyond.headers["content-range"] == f"bytes */{len(raw)}"
    assert idle_client.head(url, headers=h).status_code == 200


def test_dialer_codecs_get_a_playable_rendition(
    idle_client: TestClient, tenant: TenantCredentials
) -> None:
    # IMA ADPCM WAV, as many dialers send: browsers cannot play it, so it is served as MP3.
    call = upload(idle_client, tenant, "dialogue_stereo.wav")
    url = f"/conversations/{call}/audio"
    full = idle_client.get(url, headers=auth(tenant))
    assert full.status_code == 200 and full.headers["content-type"] == "audio/mpeg"
    assert full.content[:3] == b"ID3" or full.content[0] == 0xFF
    part = idle_client.get(url, headers={**auth(tenant), "Range": "bytes=0-1023"})
    assert part.status_code == 206 and part.content == full.content[:1024]
    again = idle_client.get(url, headers=auth(tenant))
    assert again.content == full.content  # the cached rendition, byte for byte
    # Not audio at all, or an email: no player, a 404 page.
    broken = upload(idle_client, tenant, "not_audio.wav")
    r = idle_client.get(f"/conversations/{broken}/audio", headers=auth(tenant))
    assert r.status_code == 404 and "not playable" in r.text
    mail = post_email(idle_client, tenant, "Thanks for the call.")
    assert idle_client.get(f"/conversations/{mail}/audio", headers=auth(tenant)).status_code == 404
    page = idle_client.get(f"/conversations/{mail}", headers=auth(tenant))
    assert page.status_code == 200 and "<audio" not in page.text
    assert "Thanks for the call." in page.text


def test_hostile_input_is_escaped(idle_client: TestClient, tenant: TenantCredentials) -> None:
    h = auth(tenant)
    evil = deal_event("D-X", name=XSS, stage='"><img src=x onerror=alert(1)>', team=XSS)
    assert post_deal(idle_client, tenant, evil).status_code == 200
    mail = post_email(idle_client, tenant, f"{XSS} the price is far too high")
    pages = [
        f"/review?team={XSS}&rep={XSS}",
        "/deals",
        f"/deals?team={XSS}&stage={XSS}",
        f"/deals/{deal_uuid(idle_client, tenant, 'D-X')}",
        f"/conversations/{mail}",
        f"/evidence?kind=objection&label={XSS}",
        f"/login?next=/{XSS}",
    ]
    for path in pages:
        r = idle_client.get(path, headers=h)
        assert r.status_code == 200, (path, r.text[:300])
        assert XSS not in r.text and "<img src=x" not in r.text, path
        assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in idle_client.get("/deals", headers=h).text


@pytest.mark.parametrize(
    "path",
    [
        "/deals?status=bogus",
        "/deals?risk=everything",
        "/deals?team=" + "x" * 300,
        "/review?since=yesterday",
        "/review?since=2999-01-01",
        "/review?since=1900-01-01",
        "/evidence?kind=rumour",
        "/evidence?from=notadate",
        "/evidence?from=2026-12-01&to=2026-11-01",
        "/evidence?cursor=garbage",
        "/review?since=" + "9" * 100,
    ],
)
def test_malformed_parameters_get_a_clear_400_page(
    path: str, idle_client: TestClient, tenant: TenantCredentials
) -> None:
    r = idle_client.get(path, headers=auth(tenant))
    assert r.status_code == 400, r.text[:300]
    assert "text/html" in r.headers["content-type"]
    assert "<h1>That request did not make sense</h1>" in r.text


def test_plotly_comes_from_the_installed_package(idle_client: TestClient) -> None:
    expected = (resources.files("plotly") / "package_data" / "plotly.min.js").read_bytes()
    r = idle_client.get("/static/vendor/plotly.min.js")
    assert r.status_code == 200 and r.content == expected
    assert r.headers["content-type"].startswith("text/javascript")
    assert "max-age=31536000" in r.headers["cache-control"]
    again = idle_client.get(
        "/static/vendor/plotly.min.js", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    for path in ("/static/nope.js", "/static/../service/web/setup.py", "/static/vendor/"):
        assert idle_client.get(path).status_code == 404
    css = idle_client.get("/static/style.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


def test_charts_carry_their_evidence_links() -> None:
    from service.web.charts import Series, chart_html, figure

    fig = figure(
        [Series('he said "</div><script>x</script>', ["a"], [1.0], ["/evidence?kind=objection"])],
        title="t",
    )
    html = str(chart_html(fig, label="<b>label</b>"))
    assert "<script>" not in html and "<b>" not in html
    payload = html.split('data-figure="')[1].split('"></div>')[0]
    decoded = json.loads(unescape(payload))
    assert decoded["data"][0]["customdata"] == ["/evidence?kind=objection"]


def test_roles_admit_their_people_and_admins() -> None:
    from service.web.deps import Forbidden, Viewer, require_role

    check = require_role("enablement")
    tid = uuid.uuid4()
    for role, allowed in (("enablement", True), ("admin", True), ("manager", False)):
        viewer = Viewer(tenant_id=tid, tenant_name="Acme", via="session", role=role)
        if allowed:
            assert check(viewer) is viewer
        else:
            with pytest.raises(Forbidden):
                check(viewer)
    # A script with the tenant's API key acts as the tenant's admin.
    assert check(Viewer(tenant_id=tid, tenant_name="Acme", via="api_key")).via == "api_key"
