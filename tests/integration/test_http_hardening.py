"""HTTP hardening (booking_ui/middleware.py): security headers on every response, CORS limited to our
own origin, JSON-only API bodies, body caps refused before the body is read, no Host echo, no banner."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os

import pytest
from sqlmodel import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from booking.core.models import Booking, Client, StripeEvent
from booking_ui import api, deps
from booking_ui.middleware import (
    JSON_BODY_LIMIT,
    WEBHOOK_BODY_LIMIT,
    HardeningMiddleware,
    HardeningSettings,
    allowed_origins,
)
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway

HTTPS = HardeningSettings(public_url="https://book.example")
HTTP = HardeningSettings(public_url="http://localhost:3000")

PAGE = (b"<!DOCTYPE html><html><head><script>window.theme = 'light';</script>"
        b"<script src=\"/assets/app.js\"></script><script type=\"module\" async=\"\">import('/x.js')</script>"
        b"</head><body><style>.a{color:red}</style><p>Hi</p></body></html>")


def csp_hash(script: bytes) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def client(engine, gateway) -> TestClient:
    return TestClient(HardeningMiddleware(api.build_api(), HTTPS))


def directives(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def static_site() -> Starlette:
    async def page(_request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def gzipped(_request: Request) -> Response:
        return Response(gzip.compress(PAGE), media_type="text/html", headers={"Content-Encoding": "gzip"})

    async def not_modified(_request: Request) -> Response:
        return Response(status_code=304, headers={"ETag": '"abc"'})

    async def private(_request: Request) -> Response:
        return PlainTextResponse("feed", headers={"Referrer-Policy": "no-referrer"})

    async def script(_request: Request) -> Response:
        return Response(b"console.log(1)", media_type="text/javascript")

    return Starlette(routes=[Route("/page", page), Route("/gz", gzipped), Route("/cached", not_modified),
                             Route("/feed", private), Route("/app.js", script), Route("/dir/", page)])


# --- security headers ------------------------------------------------------------------------------

def test_api_answers_carry_the_security_headers_and_no_server_banner(client):
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert directives(response)["frame-ancestors"] == "frame-ancestors 'none'"
    assert directives(response)["default-src"] == "default-src 'none'"
    assert response.headers.get("server", "") == ""


def test_no_hsts_when_the_public_url_is_plain_http(engine, gateway):
    response = TestClient(HardeningMiddleware(api.build_api(), HTTP)).get("/api/health")

    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/page", "/gz"])
def test_a_page_may_run_exactly_its_own_inline_scripts(path):
    response = TestClient(HardeningMiddleware(static_site(), HTTPS)).get(path)

    assert response.content == PAGE  # the body is untouched (gzip decoded by the client)
    scripts = directives(response)["script-src"]
    assert csp_hash(b"window.theme = 'light';") in scripts
    assert csp_hash(b"import('/x.js')") in scripts
    assert "'unsafe-inline'" not in scripts
    assert scripts.startswith("script-src 'self'")
    policy = directives(response)
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    assert policy["connect-src"] == "connect-src 'self'"


@pytest.mark.parametrize("compressed", [False, True])
def test_a_page_the_server_sends_from_disk_gets_its_hashes_too(tmp_path, compressed):
    """granian supports `http.response.pathsend`: Starlette's FileResponse then only names the file."""
    import asyncio

    from starlette.responses import FileResponse

    page = tmp_path / "index.html"
    page.write_bytes(gzip.compress(PAGE) if compressed else PAGE)
    headers = {"Content-Encoding": "gzip"} if compressed else {}

    async def serve(_request: Request) -> Response:
        return FileResponse(page, media_type="text/html", headers=headers)

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"host", b"testserver")], "query_string": b"",
             "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": "",
             "http_version": "1.1", "extensions": {"http.response.pathsend": {}}}
    app = HardeningMiddleware(Starlette(routes=[Route("/", serve)]), HTTPS)

    asyncio.run(app(scope, receive, send))

    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    policy = dict(sent[0]["headers"])[b"content-security-policy"].decode()
    assert csp_hash(b"window.theme = 'light';") in policy


def test_a_not_modified_answer_leaves_the_cached_pages_policy_alone():
    """A 304's headers replace the cached page's: a policy without that page's hashes would block it."""
    response = TestClient(HardeningMiddleware(static_site(), HTTPS)).get("/cached")

    assert response.status_code == 304
    assert "content-security-policy" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_a_routes_own_stricter_referrer_policy_is_kept():
    response = TestClient(HardeningMiddleware(static_site(), HTTPS)).get("/feed")

    assert response.headers["referrer-policy"] == "no-referrer"


def test_scripts_and_styles_get_the_locked_down_policy():
    response = TestClient(HardeningMiddleware(static_site(), HTTPS)).get("/app.js")

    assert directives(response)["default-src"] == "default-src 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


# --- no Host echo ----------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["evil.example", "evil.example:8443"])
def test_a_redirect_never_echoes_a_forged_host(host):
    response = TestClient(HardeningMiddleware(static_site(), HTTPS)).get(
        "/dir", headers={"Host": host}, follow_redirects=False)

    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/dir/"
    assert "evil" not in response.headers["location"]


def test_a_redirect_to_another_site_is_left_alone():
    async def away(_request: Request) -> Response:
        return Response(status_code=303, headers={"Location": "https://checkout.stripe.com/c/pay/cs_1"})

    app = HardeningMiddleware(Starlette(routes=[Route("/away", away)]), HTTPS)
    response = TestClient(app).get("/away", follow_redirects=False)

    assert response.headers["location"] == "https://checkout.stripe.com/c/pay/cs_1"


def test_a_redirect_path_that_starts_with_two_slashes_stays_on_our_host():
    async def odd(_request: Request) -> Response:
        return Response(status_code=307, headers={"Location": "http://testserver//evil.example/x"})

    app = HardeningMiddleware(Starlette(routes=[Route("/odd", odd)]), HTTPS)
    response = TestClient(app).get("/odd", follow_redirects=False)

    assert response.headers["location"] == "/evil.example/x"


# --- JSON only -------------------------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "text/plain; charset=utf-8",
                                          "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
def test_create_checkout_refuses_bodies_that_are_not_json(client, session, content_type):
    """What a page on another site can send without a CORS preflight: refused before it is parsed."""
    response = client.post("/api/payments/create-checkout-session", headers={"Content-Type": content_type},
                           content=b'{"session_type_id": "1", "start_time": "2030-01-01T10:00:00+00:00",'
                                   b' "client_name": "A", "client_email": "a@example.com"}')

    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"
    assert len(session.exec(select(Booking)).all()) == 0


# --- body caps -------------------------------------------------------------------------------------

def test_a_json_body_over_16_kib_is_413_in_the_apis_error_shape(client, session):
    body = b'{"client_name": "' + b"a" * JSON_BODY_LIMIT + b'"}'

    response = client.post("/api/payments/create-checkout-session", content=body,
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert len(session.exec(select(Client)).all()) == 0


def test_a_chunked_json_body_over_16_kib_is_413(client, session):
    def chunks():
        for _ in range(20):
            yield b" " * 1024

    response = client.post("/api/payments/create-checkout-session", content=chunks(),
                           headers={"Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_webhook_over_1_mib_is_413_and_nothing_is_stored(client, session):
    event = se.event("checkout.session.completed", se.checkout_session("b1", "cs_big"))
    event["data"]["object"]["metadata"] = {"padding": "x" * WEBHOOK_BODY_LIMIT}
    payload = se.encode(event)

    response = client.post("/api/payments/webhook", content=payload,
                           headers={"Stripe-Signature": se.sign(payload), "Content-Type": "application/json"})

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert len(session.exec(select(StripeEvent)).all()) == 0


def test_a_webhook_under_1_mib_is_still_accepted(client, session):
    event = se.event("customer.created", {"id": "cus_1", "object": "customer",
                                          "metadata": {"padding": "x" * (64 * 1024)}})
    payload = se.encode(event)

    response = client.post("/api/payments/webhook", content=payload,
                           headers={"Stripe-Signature": se.sign(payload), "Content-Type": "application/json"})

    assert response.status_code == 200
    assert session.get(StripeEvent, event["id"]) is not None


class RecordingApp:
    """An endpoint that reads its whole body (as Starlette's request.body() does)."""

    def __init__(self) -> None:
        self.called = False

    async def __call__(self, scope, receive, send) -> None:
        self.called = True
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        response = JSONResponse({"read": len(body)})
        await response(scope, receive, send)


async def _drive(app, *, path: str, chunks: list[bytes], headers: list[tuple[bytes, bytes]]):
    pulled = 0
    sent: list[dict] = []

    async def receive():
        nonlocal pulled
        pulled += 1
        index = pulled - 1
        return {"type": "http.request", "body": chunks[index], "more_body": index < len(chunks) - 1}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": path, "headers": headers, "query_string": b"",
             "scheme": "http", "server": ("testserver", 80), "client": ("127.0.0.1", 1), "root_path": ""}
    await app(scope, receive, send)
    return pulled, sent


def test_a_chunked_webhook_is_refused_before_its_whole_body_is_read():
    import asyncio

    inner = RecordingApp()
    chunks = [b"x" * (64 * 1024)] * 40  # 2.5 MiB, no Content-Length

    pulled, sent = asyncio.run(_drive(HardeningMiddleware(inner, HTTP), path="/api/payments/webhook",
                                      chunks=chunks, headers=[(b"transfer-encoding", b"chunked")]))

    assert sent[0]["status"] == 413
    assert pulled == WEBHOOK_BODY_LIMIT // (64 * 1024) + 1  # stopped at the first chunk over the cap
    assert pulled < len(chunks)


def test_a_declared_length_over_the_cap_is_refused_without_reading_anything():
    import asyncio

    inner = RecordingApp()

    pulled, sent = asyncio.run(_drive(HardeningMiddleware(inner, HTTP), path="/api/payments/webhook",
                                      chunks=[b"x"], headers=[(b"content-length", b"5000000")]))

    assert pulled == 0 and not inner.called
    assert sent[0]["status"] == 413
    assert b"payload_too_large" in sent[1]["body"]


def test_pages_and_other_paths_are_not_capped():
    import asyncio

    inner = RecordingApp()

    pulled, sent = asyncio.run(_drive(HardeningMiddleware(inner, HTTP), path="/_upload",
                                      chunks=[b"x" * 1024] * 40, headers=[]))

    assert sent[0]["status"] == 200 and pulled == 40


def test_an_upload_over_the_photo_cap_is_refused_before_it_is_read():
    import asyncio

    from booking_ui.middleware import UPLOAD_BODY_LIMIT

    inner = RecordingApp()
    declared = [(b"content-length", str(UPLOAD_BODY_LIMIT + 1).encode())]
    pulled, sent = asyncio.run(_drive(HardeningMiddleware(inner, HTTP), path="/_upload", chunks=[b"x"],
                                      headers=declared))
    assert pulled == 0 and not inner.called and sent[0]["status"] == 413

    chunks = [b"x" * (256 * 1024)] * 40  # 10 MiB streamed without a length: stopped at the cap
    pulled, sent = asyncio.run(_drive(HardeningMiddleware(RecordingApp(), HTTP), path="/_upload", chunks=chunks,
                                      headers=[(b"transfer-encoding", b"chunked")]))
    assert sent[0]["status"] == 413 and pulled < len(chunks)


# --- CORS, on the whole Reflex app ------------------------------------------------------------------

@pytest.fixture(scope="module")
def reflex_app():
    from reflex_base.environment import environment

    from booking.core.migrations import PROJECT_ROOT

    previous = os.getcwd()
    os.chdir(PROJECT_ROOT)  # rxconfig.py is found through the working directory
    environment.REFLEX_SKIP_COMPILE.set(True)
    from booking_ui.booking_ui import app

    try:
        yield app()
    finally:
        os.chdir(previous)
        os.environ.pop(environment.REFLEX_SKIP_COMPILE.name, None)  # later tests start real servers


def test_the_app_allows_only_our_own_origin(reflex_app):
    from reflex_base.config import get_config

    from booking.core.config import get_settings

    origins = list(get_config().cors_allowed_origins)
    assert origins == allowed_origins(get_settings().public_url)
    assert "*" not in origins
    client = TestClient(reflex_app)

    foreign = client.get("/api/health", headers={"Origin": "https://evil.example", "Cookie": "s=1"})
    ours = client.get("/api/health", headers={"Origin": origins[0]})

    assert "access-control-allow-origin" not in foreign.headers
    assert ours.headers["access-control-allow-origin"] == origins[0]


def test_a_foreign_preflight_is_refused_and_still_hardened(reflex_app):
    response = TestClient(reflex_app).options("/api/payments/create-checkout-session", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})

    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers.get("server", "") == ""


def test_the_apps_own_slash_redirect_does_not_echo_a_forged_host(reflex_app):
    response = TestClient(reflex_app).get("/ping/", headers={"Host": "evil.example"}, follow_redirects=False)

    assert response.status_code == 307
    assert response.headers["location"] == "/ping"


def test_allowed_origins_accept_both_loopback_spellings():
    assert allowed_origins("http://localhost:3000") == ["http://localhost:3000", "http://127.0.0.1:3000"]
    assert allowed_origins("https://Book.Example/") == ["https://book.example"]
    assert allowed_origins("https://book.example:443") == ["https://book.example"]
