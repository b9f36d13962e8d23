"""Abuse limits: slot hoarding (holds per email and per IP, renewals), request floods (create-checkout and
manage POSTs per IP: 429 + Retry-After), unsolicited emails to an address, stored names, and logs and
database errors free of personal data."""

from __future__ import annotations

import email
import logging
from datetime import datetime, time, timedelta, timezone
from email.policy import default as default_policy
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select
from starlette.testclient import TestClient

from booking.core.config import get_settings, load_settings
from booking.core.db import engine_for, session_scope
from booking.core.models import Booking, BookingStatus, Builder, Client, Notification, NotificationStatus
from booking.lifecycle import abuse
from booking.lifecycle import checkout as payments
from booking.notifications.mailer import KIND_HEADER, FolderMailer
from booking.notifications.outbox import SKIPPED_DAILY_CAP, NotificationKind, send_due_notifications
from booking.workspace import bookings as booking_admin
from booking_ui import api, deps
from tests.factories import make_builder, make_session_type
from tests.support import stripe_events as se
from tests.support.fake_gateway import FakeGateway

PUBLIC_URL = "https://book.example"


@pytest.fixture
def gateway(monkeypatch) -> FakeGateway:
    fake = FakeGateway()
    monkeypatch.setattr(deps, "gateway", lambda: fake)
    return fake


@pytest.fixture
def configure(engine, monkeypatch):
    """Set limits for this test (the app reads them through get_settings())."""

    def apply(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    apply()
    return apply


@pytest.fixture
def session_type(session: Session):
    builder = make_builder(session, name="Ada")
    st = make_session_type(session, builder, price_amount=5000, currency="gbp", name="Pairing")
    session.commit()
    return st


def client_from(ip: str) -> TestClient:
    return TestClient(api.build_api(), client=(ip, 50000))


def slot(hour: int) -> str:
    """`hour` o'clock on the builder's clock (London: the factory's 09:00-17:00), the day after tomorrow. In UTC
    the hour would fall outside those hours all summer (16:00 UTC is 17:00 BST)."""
    london = ZoneInfo("Europe/London")
    day = datetime.now(london).date() + timedelta(days=2)
    return datetime.combine(day, time(hour), tzinfo=london).isoformat()


def book(http: TestClient, session_type, hour: int, email_address: str = "ann@example.com", **extra):
    return http.post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": slot(hour), "client_name": "Ann",
        "client_email": email_address, **extra})


def active_holds(engine) -> int:
    with Session(engine) as s:
        return len(s.exec(select(Booking).where(Booking.status == BookingStatus.PENDING)).all())


# --- slot hoarding ------------------------------------------------------------------------------------------


def test_one_email_holds_at_most_two_times_then_gets_429_with_retry_after(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_IP="0")  # from many networks: only the email's cap applies
    made = [book(client_from(f"10.0.0.{n}"), session_type, 9 + n).status_code for n in range(2)]

    refused = book(client_from("10.0.0.9"), session_type, 13)

    assert made == [201, 201]
    assert refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "too_many_holds" and "already has as many unpaid holds" in body["message"]
    assert 29 * 60 < int(refused.headers["Retry-After"]) <= 32 * 60  # until the first hold lapses
    assert body["retry_after"] == int(refused.headers["Retry-After"])
    assert active_holds(engine) == 2
    # Another address is not affected; releasing a hold frees a place for the first one.
    assert book(client_from("10.0.0.10"), session_type, 14, "bo@example.com").status_code == 201
    with Session(engine) as s:
        first = s.exec(select(Booking).order_by(Booking.created_at)).first()
    assert payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=first.id)
    assert book(client_from("10.0.0.11"), session_type, 15).status_code == 201


def test_one_ip_holds_at_most_two_times_whatever_the_emails(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_EMAIL="0", MAX_HOLDS_PER_IP="2")
    same_network = client_from("203.0.113.7")
    made = [book(same_network, session_type, 9 + n, f"c{n}@example.com").status_code for n in range(2)]

    refused = book(same_network, session_type, 12, "c9@example.com")

    assert made == [201, 201] and refused.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_holds" and int(refused.headers["Retry-After"]) > 0
    assert book(client_from("198.51.100.1"), session_type, 12, "c9@example.com").status_code == 201


def test_a_browser_picking_again_replaces_its_hold_and_is_not_counted_again(configure, engine, gateway,
                                                                            session_type):
    configure(MAX_HOLDS_PER_IP="2")
    settings = get_settings()
    requester = abuse.Requester.of("192.0.2.44")
    for hour in (9, 10, 11, 12):  # Back from Checkout, another time, four times over
        payments.begin_checkout(engine=engine, gateway=gateway, settings=settings, requester=requester,
                                session_type_id=session_type.id, start_time=datetime.fromisoformat(slot(hour)),
                                client_name="Ann", client_email="ann@example.com", browser_hold_key="one-browser")

    assert active_holds(engine) == 1
    other = payments.begin_checkout(engine=engine, gateway=gateway, settings=settings, requester=requester,
                                    session_type_id=session_type.id, start_time=datetime.fromisoformat(slot(14)),
                                    client_name="Bo", client_email="bo@example.com", browser_hold_key="other")
    assert other.booking_id
    with pytest.raises(abuse.TooManyHolds):  # a third browser on that network
        payments.begin_checkout(engine=engine, gateway=gateway, settings=settings, requester=requester,
                                session_type_id=session_type.id, start_time=datetime.fromisoformat(slot(15)),
                                client_name="Cy", client_email="cy@example.com", browser_hold_key="third")


def pay(engine, gateway, booking_id: str, session_id: str) -> None:
    """Stripe says the hold was paid (a signed checkout.session.completed)."""
    from booking.events import webhooks

    payload = se.encode(se.event("checkout.session.completed", se.checkout_session(booking_id, session_id)))
    assert webhooks.handle_webhook(engine=engine, gateway=gateway, payload=payload,
                                   signature=se.sign(payload)).status_code == 200


def test_paid_and_ended_holds_no_longer_count_against_the_network(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_EMAIL="0", MAX_HOLDS_PER_IP="2")
    office = client_from("203.0.113.50")
    first, second = (book(office, session_type, 9 + n, f"p{n}@example.com").json() for n in range(2))
    assert book(office, session_type, 11, "p2@example.com").status_code == 429  # two live unpaid holds

    pay(engine, gateway, first["booking_id"], first["checkout_session_id"])
    third = book(office, session_type, 11, "p2@example.com")
    assert third.status_code == 201  # was refused for 30 minutes once two clients had paid

    assert payments.release_hold_and_expire(engine=engine, gateway=gateway, booking_id=second["booking_id"])
    assert book(office, session_type, 12, "p3@example.com").status_code == 201
    assert book(office, session_type, 13, "p4@example.com").status_code == 429
    # A hold that ran out frees its place too, with no sweep needed.
    later = datetime.now(timezone.utc) + timedelta(minutes=45)
    assert payments.begin_checkout(engine=engine, gateway=gateway, settings=get_settings(), now=later,
                                   requester=abuse.Requester.of("203.0.113.50"), session_type_id=session_type.id,
                                   start_time=datetime.fromisoformat(slot(14)), client_name="Q",
                                   client_email="q@example.com").booking_id
    with Session(engine) as s:  # the network is kept as a keyed digest, never the address
        keys = {b.client_address_key for b in s.exec(select(Booking)).all()}
    assert len(keys) == 1 and "203.0.113.50" not in next(iter(keys))


@pytest.mark.parametrize("shared", ["network", "mailbox"])
def test_concurrent_holds_from_one_network_or_mailbox_never_pass_its_cap(configure, engine, gateway, session,
                                                                          shared):
    from concurrent.futures import ThreadPoolExecutor

    if shared == "network":
        configure(MAX_HOLDS_PER_EMAIL="0", MAX_HOLDS_PER_IP="3")
    else:
        configure(MAX_HOLDS_PER_EMAIL="3", MAX_HOLDS_PER_IP="0")
    settings = get_settings()
    # Twelve builders: no builder lock puts the requests in a row, only the network's count does.
    kinds = []
    for n in range(12):
        builder = make_builder(session, name=f"B{n}", slug=f"b-{n}")
        kinds.append(make_session_type(session, builder, name=f"Kind {n}").id)
    session.commit()

    def attempt(n: int) -> str:
        try:
            payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                    requester=abuse.Requester.of(f"198.51.100.{77 if shared == 'network' else n}"),
                                    session_type_id=kinds[n], start_time=datetime.fromisoformat(slot(10)),
                                    client_name="C",
                                    client_email=f"c{n}@example.com" if shared == "network" else f"c+{n}@example.com")
            return "held"
        except abuse.TooManyHolds:
            return "refused"

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(attempt, range(12)))

    assert (outcomes.count("held"), outcomes.count("refused")) == (3, 9)
    assert active_holds(engine) == 3


def test_the_default_lets_a_busy_office_hold_ten_times_at_once(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_EMAIL="0")
    office = client_from("203.0.113.60")
    def next_day(hour: int) -> str:
        return (datetime.fromisoformat(slot(hour)) + timedelta(days=1)).isoformat()

    times = [slot(9 + n) for n in range(6)] + [next_day(9 + n) for n in range(5)]
    made = [book(office, session_type, 0, f"o{n}@example.com", start_time=start).status_code
            for n, start in enumerate(times)]

    assert made == [201] * 10 + [429]


# --- the client's address behind a reverse proxy ---------------------------------------------------------------


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_EMAIL="0", MAX_HOLDS_PER_IP="1", FORWARDED_ALLOW_IPS="10.9.0.0/16")
    proxy = client_from("10.9.0.2")

    def via_proxy(hour: int, forwarded_for: str, email_address: str):
        return proxy.post("/api/payments/create-checkout-session", headers={"X-Forwarded-For": forwarded_for},
                          json={"session_type_id": str(session_type.id), "start_time": slot(hour),
                                "client_name": "Ann", "client_email": email_address})

    assert via_proxy(9, "198.51.100.1", "a@example.com").status_code == 201
    assert via_proxy(10, "198.51.100.2", "b@example.com").status_code == 201  # another client, not the proxy
    assert via_proxy(11, "198.51.100.1", "c@example.com").status_code == 429  # the first one again
    # A client can't pose as someone else by writing its own header: only the proxy's last entry counts.
    assert via_proxy(11, "192.0.2.99, 198.51.100.1", "c@example.com").status_code == 429


def test_an_untrusted_peer_cannot_choose_its_address(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_EMAIL="0", MAX_HOLDS_PER_IP="1")  # default: only 127.0.0.1 is a proxy
    direct = client_from("203.0.113.70")
    made = [direct.post("/api/payments/create-checkout-session", headers={"X-Forwarded-For": f"192.0.2.{n}"},
                        json={"session_type_id": str(session_type.id), "start_time": slot(9 + n),
                              "client_name": "Ann", "client_email": f"x{n}@example.com"}).status_code
            for n in range(2)]

    assert made == [201, 429]


# --- plus-addressing ---------------------------------------------------------------------------------------------


def test_plus_tags_of_one_mailbox_share_its_hold_cap(configure, engine, gateway, session_type):
    configure(MAX_HOLDS_PER_IP="0")
    made = [book(client_from(f"10.1.0.{n}"), session_type, 9 + n, address).status_code
            for n, address in enumerate(["victim+1@example.com", "Victim+2@Example.com"])]

    refused = book(client_from("10.1.0.9"), session_type, 12, "victim@example.com")
    tagged = book(client_from("10.1.0.10"), session_type, 12, "victim+3@example.com")

    assert made == [201, 201] and refused.status_code == 429 and tagged.status_code == 429
    assert refused.json()["error"]["code"] == "too_many_holds"
    # Other mailboxes are not folded in: dots count, and a longer name is someone else.
    assert book(client_from("10.1.0.11"), session_type, 13, "vic.tim@example.com").status_code == 201
    assert book(client_from("10.1.0.12"), session_type, 14, "victims+1@example.com").status_code == 201


def test_create_checkout_is_rate_limited_per_ip_with_429_and_retry_after(configure, engine, gateway, session_type):
    configure(CHECKOUT_RATE_LIMIT="3/minute", MAX_HOLDS_PER_IP="0", MAX_HOLDS_PER_EMAIL="0")
    prober = client_from("203.0.113.50")
    assert book(prober, session_type, 9, client_time_zone="Not/AZone").status_code == 422  # invalid: not counted

    answers = [book(prober, session_type, 9 + n, f"p{n}@example.com").status_code for n in range(4)]

    assert answers == [201, 201, 201, 429]
    flooded = book(prober, session_type, 15, "p9@example.com")
    assert flooded.json()["error"]["code"] == "rate_limited"
    assert 0 < int(flooded.headers["Retry-After"]) <= 60
    assert active_holds(engine) == 3
    assert book(client_from("203.0.113.51"), session_type, 16, "q@example.com").status_code == 201


def show_tomorrow(page) -> None:
    """Pick tomorrow on the page's calendar: today may have fewer times left than a test takes."""
    from tests.support.admin_states import call

    tomorrow = datetime.now(ZoneInfo("Europe/London")).date() + timedelta(days=1)
    if (tomorrow.year, tomorrow.month) != (page.view_year, page.view_month):
        call(page, "next_month")
    call(page, "choose_day", tomorrow.isoformat())
    assert len(page.times) >= 3, "tomorrow is open all day"


def book_state_from(session_type_id: int, *, ip: str, **headers: str):
    """The booking page's state for a browser at `ip` (as Reflex fills router data from the socket; `headers`
    the websocket request's, such as a proxy's x-forwarded-for)."""
    import reflex as rx
    from reflex.istate.data import RouterData

    import booking_ui.booking_ui  # noqa: F401 - registers the pages, so the route's argument exists on the state
    from booking_ui.state.book import BookState

    root = rx.State(_reflex_internal_init=True)
    root.router = RouterData.from_router_data({
        "pathname": "/book/[session_type_id]", "asPath": f"/book/{session_type_id}", "ip": ip,
        "query": {"session_type_id": str(session_type_id)},
        "headers": {"origin": "http://localhost:3000", "asgi-scope-client": ip, **headers}})
    return root.get_substate(BookState.get_full_name().split(".")[1:])


def test_the_booking_page_shows_the_limit(configure, engine, gateway, session_type):
    from tests.support.admin_states import call

    configure(CHECKOUT_RATE_LIMIT="1/minute")
    messages = []
    for attempt in range(2):
        page = book_state_from(session_type.id, ip="203.0.113.80")
        call(page, "load")
        call(page, "set_browser_preferences", {"tz": "Europe/London", "hour12": False})
        show_tomorrow(page)
        call(page, "choose", page.times[attempt].start)
        call(page, "pay", {"client_name": "Ann", "client_email": f"ann{attempt}@example.com"})
        call(page, "start_payment")
        messages.append((page.paying, page.notice))

    assert messages[0] == (True, "")  # on its way to Checkout
    assert messages[1] == (False, "Too many booking attempts from your network. Please wait a moment and try again.")


def test_the_booking_page_behind_a_trusted_proxy_counts_each_client_by_its_own_address(configure, engine, gateway,
                                                                                       session_type):
    from tests.support.admin_states import call

    configure(MAX_HOLDS_PER_EMAIL="0", MAX_HOLDS_PER_IP="1", FORWARDED_ALLOW_IPS="10.9.0.2")
    outcomes = []
    for n, client in enumerate(["198.51.100.1", "198.51.100.2", "198.51.100.1"]):
        page = book_state_from(session_type.id, ip="10.9.0.2", **{"x-forwarded-for": client})
        call(page, "load")
        call(page, "set_browser_preferences", {"tz": "Europe/London", "hour12": False})
        show_tomorrow(page)
        call(page, "choose", page.times[n].start)
        call(page, "pay", {"client_name": "Ann", "client_email": f"ann{n}@example.com"})
        call(page, "start_payment")
        outcomes.append(page.paying)

    assert outcomes == [True, True, False]  # two clients behind one proxy; the first one's second hold refused
    assert "Too many times are being held from your network" in page.notice


def test_try_again_renews_a_hold_at_most_three_times(configure, engine, gateway, session_type):
    settings = get_settings()
    started = payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                      session_type_id=session_type.id, start_time=datetime.fromisoformat(slot(10)),
                                      client_name="Ann", client_email="ann@example.com")
    renewed = [payments.retry_checkout(engine=engine, gateway=gateway, settings=settings,
                                       booking_id=started.booking_id) for _ in range(3)]
    with Session(engine) as s:
        held_until = s.get(Booking, started.booking_id).hold_expires_at

    fourth = payments.retry_checkout(engine=engine, gateway=gateway, settings=settings, booking_id=started.booking_id)

    assert len({r.checkout_session_id for r in renewed}) == 3
    assert fourth.checkout_session_id == renewed[-1].checkout_session_id  # the same page: no new session
    assert len(gateway.created) == 4
    with Session(engine) as s:
        assert s.get(Booking, started.booking_id).hold_expires_at == held_until  # and no longer hold
    gateway.expire_checkout_session(fourth.checkout_session_id, idempotency_key="closed")
    with pytest.raises(payments.RenewalsExhausted):
        payments.retry_checkout(engine=engine, gateway=gateway, settings=settings, booking_id=started.booking_id)


def test_manage_posts_are_rate_limited_per_ip(configure, engine):
    configure(MANAGE_RATE_LIMIT="2/minute")
    token = "A" * 43
    http = client_from("203.0.113.90")

    origin = get_settings().public_url

    def post():
        return http.post(f"/api/manage/{token}/cancel", data={"csrf_token": "x"}, follow_redirects=False,
                         headers={"Origin": origin})

    answers = [post() for _ in range(3)]

    assert [a.status_code for a in answers[:2]] == [403, 403]  # judged on their merits (a bad form)
    assert answers[2].status_code == 429 and int(answers[2].headers["Retry-After"]) > 0
    assert "Too many requests" in answers[2].text
    assert client_from("203.0.113.91").post(f"/api/manage/{token}/cancel", data={"csrf_token": "x"},
                                            headers={"Origin": origin}).status_code == 403


# --- logs and database errors --------------------------------------------------------------------------------


def test_each_hold_is_logged_with_a_request_id_and_ip_and_a_masked_email(configure, engine, gateway, session_type,
                                                                         caplog):
    caplog.set_level(logging.INFO, logger="booking")

    response = client_from("198.51.100.23").post("/api/payments/create-checkout-session", json={
        "session_type_id": str(session_type.id), "start_time": slot(10), "client_name": "Ann Secret",
        "client_email": "ann.secret@example.com"}, headers={"X-Request-Id": "req-abc-123"})

    assert response.status_code == 201
    [line] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("hold ")]
    assert "req-abc-123" in line and "198.51.100.23" in line and "a***@example.com" in line
    assert response.json()["booking_id"] in line
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "ann.secret@example.com" not in logged and "Ann Secret" not in logged


def test_a_database_error_quotes_neither_names_nor_emails(engine, session):
    session.add(Client(name="Ann Secret", email="ann.secret@example.com"))
    session.commit()
    with pytest.raises(sa.exc.IntegrityError) as raised, session_scope(engine_for(str(engine.url))) as s:
        s.add(Client(name="Ann Secret", email="ann.secret@example.com"))

    import traceback

    text = "".join(traceback.format_exception(raised.value))
    assert "ann.secret@example.com" not in text and "Ann Secret" not in text
    assert "parameters hidden" in text


# --- emails to strangers' addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize("addresses", [
    ["stranger@example.com"] * 5,
    # `+tag`s are one mailbox (and the case of an address never mattered)
    ["stranger+1@example.com", "Stranger+2@example.com", "stranger@example.com", "stranger+x@EXAMPLE.com",
     "stranger+1@example.com"],
], ids=["one-spelling", "plus-tags"])
def test_an_address_gets_at_most_three_unsolicited_emails_a_day(engine, gateway, session_type, tmp_path,
                                                                  configure, addresses):
    configure(MAX_HOLDS_PER_EMAIL="0")
    settings = get_settings()
    from booking.events import webhooks

    with Session(engine) as s:
        builder = s.get(Builder, session_type.builder_id)
        kinds = [make_session_type(s, builder, name=f"Kind {n}").id for n in range(5)]
        s.commit()
    # Five holds of five different sessions (no "booked again" to hide behind) with a stranger's address,
    # each card declined, each hold left to run out (a decline alone is not emailed: the Checkout page shows it).
    for hour, kind, victim in zip(range(9, 14), kinds, addresses, strict=True):
        started = payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                          session_type_id=kind,
                                          start_time=datetime.fromisoformat(slot(hour)),
                                          client_name="<b>Attacker</b>", client_email=victim)
        declined = se.event("payment_intent.payment_failed",
                            se.payment_intent(started.booking_id, f"pi_declined_{hour}", status="requires_payment_method"))
        payload = se.encode(declined)
        assert webhooks.handle_webhook(engine=engine, gateway=gateway, payload=payload,
                                       signature=se.sign(payload)).status_code == 200

    later = datetime.now(timezone.utc) + timedelta(minutes=45)
    assert payments.sweep_expired_holds(engine=engine, gateway=gateway, now=later) == 5

    report = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path), now=later + timedelta(minutes=3))

    assert (report.sent, report.skipped) == (3, 2)
    assert len(list(tmp_path.glob("*.eml"))) == 3
    with Session(engine) as s:
        rows = s.exec(select(Notification).where(Notification.recipient.in_({a.lower() for a in addresses}))
                      .order_by(Notification.id)).all()
    assert [r.last_error for r in rows] == [None, None, None, SKIPPED_DAILY_CAP, SKIPPED_DAILY_CAP]
    assert all(r.status == NotificationStatus.SENT for r in rows)  # settled: never retried
    tomorrow = send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path),
                                      now=datetime.now(timezone.utc) + timedelta(hours=25))
    assert tomorrow.total == 0  # the skipped ones stay skipped


def test_a_booking_with_someone_elses_address_keeps_its_own_name(engine, gateway, session_type, tmp_path):
    settings = load_settings(PUBLIC_URL=PUBLIC_URL)
    first = payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                    session_type_id=session_type.id, start_time=datetime.fromisoformat(slot(9)),
                                    client_name="Ann Original", client_email="ann@example.com")
    second = payments.begin_checkout(engine=engine, gateway=gateway, settings=settings,
                                     session_type_id=session_type.id, start_time=datetime.fromisoformat(slot(11)),
                                     client_name="Mallory", client_email="ANN@example.com")
    from booking.events import webhooks

    for started, intent in ((first, "pi_first"), (second, "pi_second")):
        paid = gateway.pay(started.checkout_session_id, intent)
        payload = se.encode(se.event("checkout.session.completed",
                                     se.checkout_session(started.booking_id, paid.id, payment_intent=intent)))
        webhooks.handle_webhook(engine=engine, gateway=gateway, payload=payload, signature=se.sign(payload))

    with Session(engine) as s:
        [client] = s.exec(select(Client)).all()
        names = {b.id: b.client_name for b in s.exec(select(Booking)).all()}
    assert client.name == "Ann Original"  # not overwritten by a later booking with the address
    assert names == {first.booking_id: "Ann Original", second.booking_id: "Mallory"}
    send_due_notifications(engine=engine, mailer=FolderMailer(tmp_path))
    to_the_client = sorted(
        str(message["To"]) for message in (email.message_from_bytes(p.read_bytes(), policy=default_policy)
                                           for p in tmp_path.glob("*.eml"))
        if message[KIND_HEADER] == NotificationKind.BOOKING_CONFIRMED and "ann@example.com" in str(message["To"]))
    assert to_the_client == ["Ann Original <ann@example.com>", "Mallory <ann@example.com>"]
    with Session(engine) as s:  # the workspace's list too
        rows = booking_admin.list_bookings(session=s, query=booking_admin.BookingQuery(builder_id=None)).rows
    assert sorted(row.client_name for row in rows) == ["Ann Original", "Mallory"]
