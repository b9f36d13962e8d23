"""Demo data for a fresh install: builders in different zones, prices in their currencies."""

from __future__ import annotations

from datetime import time

from sqlmodel import Session, select

from booking.core.models import (
    AvailabilityRule,
    Builder,
    CreditPackage,
    CreditPackageSessionType,
    DiscountKind,
    MembershipPlan,
    PromotionCode,
    SessionType,
)
from booking.core.slugs import slugify

DEMO_BUILDERS = [
    {
        "name": "Ada Lovelace",
        "slug": "ada",
        "email": "ada@example.com",
        "time_zone": "Europe/London",
        "bio": "Analytical engines, data pipelines and honest code reviews.",
        "hours": (time(9, 0), time(17, 0)),
        "session_types": [
            ("1:1 call", "A focused hour on whatever you are building.", 60, 5000, "gbp"),
            ("Code review", "A written and spoken review of one pull request.", 30, 3500, "gbp"),
        ],
        # (name, sessions a month, monthly price): synced to Stripe by `sync-stripe-catalog`
        "memberships": [("Monthly mentoring", 4, 16000, "gbp")],
        # (name, description, sessions, price, currency, validity days, the session types' names)
        "packages": [
            ("Five 1:1 calls", "Five focused hours, booked whenever suits you.", 5, 22500, "gbp", 90,
             ("1:1 call",)),
        ],
    },
    {
        "name": "Grace Hopper",
        "slug": "grace",
        "email": "grace@example.com",
        "time_zone": "America/New_York",
        "bio": "Compilers, debugging, and shipping under pressure.",
        "hours": (time(10, 0), time(18, 0)),
        "session_types": [
            ("Debugging session", "Bring a bug; leave with a fix or a plan.", 45, 7500, "usd"),
            ("Architecture workshop", "Two hours on your system's design.", 120, 30000, "usd"),
        ],
    },
    {
        "name": "Kenji Sato",
        "slug": "kenji",
        "email": "kenji@example.com",
        "time_zone": "Asia/Tokyo",
        "bio": "Mobile apps and product launches in Japan.",
        "hours": (time(9, 0), time(18, 0)),
        "session_types": [
            ("Quick consult", "Thirty minutes, one question, a straight answer.", 30, 5000, "jpy"),
            ("Launch review", "Your launch checklist, reviewed line by line.", 60, 15000, "jpy"),
        ],
    },
]


def seed_demo(*, session: Session) -> bool:
    """Insert the demo builders when there are none. Returns True when it seeded."""
    if session.exec(select(Builder.id).limit(1)).first() is not None:
        return False
    add_demo_builders(session=session)
    add_demo_promotion_code(session=session)
    return True


DEMO_PROMOTION_CODE = "WELCOME10"


def add_demo_promotion_code(*, session: Session) -> None:
    """The platform's WELCOME10: 10 % off any builder's session, a client's first booking only. Reaches
    Stripe with `python -m booking sync-stripe-catalog` (the run command does it on the emulator)."""
    if session.exec(select(PromotionCode.id).where(PromotionCode.code == DEMO_PROMOTION_CODE)).first() is None:
        session.add(PromotionCode(code=DEMO_PROMOTION_CODE, kind=DiscountKind.PERCENT, percent_off=10,
                                  first_booking_only=True))
        session.flush()


def add_demo_builders(*, session: Session) -> None:
    """Insert each demo builder whose slug is not taken yet."""
    taken = set(session.exec(select(Builder.slug)).all())
    for spec in DEMO_BUILDERS:
        if spec["slug"] in taken:
            continue
        builder = Builder(
            name=spec["name"],
            slug=spec["slug"],
            email=spec["email"],
            time_zone=spec["time_zone"],
            bio=spec["bio"],
            buffer_minutes=15,
            min_notice_minutes=120,
            horizon_days=30,
        )
        session.add(builder)
        session.flush()
        start, end = spec["hours"]
        for weekday in range(5):  # Monday to Friday, in the builder's own zone
            session.add(
                AvailabilityRule(builder_id=builder.id, weekday=weekday, start_time=start, end_time=end)
            )
        types = {}
        for name, description, minutes, amount, currency in spec["session_types"]:
            types[name] = SessionType(builder_id=builder.id, name=name, description=description,
                                      slug=slugify(name),  # its public address: /<builder>/<slug>
                                      duration_minutes=minutes, price_amount=amount, currency=currency)
            session.add(types[name])
        session.flush()
        for name, description, count, amount, currency, days, type_names in spec.get("packages", ()):
            package = CreditPackage(builder_id=builder.id, name=name, description=description, session_count=count,
                                    price_amount=amount, currency=currency, validity_days=days)
            session.add(package)
            session.flush()
            session.add_all(CreditPackageSessionType(package_id=package.id, session_type_id=types[type_name].id)
                            for type_name in type_names)
        for name, sessions, amount, currency in spec.get("memberships", ()):
            # Inactive until `sync-stripe-catalog` makes its Product and monthly Price.
            session.add(MembershipPlan(builder_id=builder.id, name=name, sessions_per_period=sessions,
                                       amount=amount, currency=currency, active=False))
    session.flush()


DEMO_PASSWORD = "demo-password"
# Builder accounts sign in with the builder's slug at demo.test; the admin sees everything.
DEMO_ACCOUNTS = [("ada@demo.test", "ada"), ("grace@demo.test", "grace"), ("kenji@demo.test", "kenji"),
                 ("admin@demo.test", None)]


def seed_demo_accounts(*, session: Session) -> list[str]:
    """Create the demo sign-ins that are missing (only ever called on the emulator). Returns their emails."""
    from booking.accounts.users import create_user, find_user
    from booking.core.models import UserRole

    created = []
    for email, slug in DEMO_ACCOUNTS:
        if find_user(session=session, email=email) is not None:
            continue
        if slug is None:
            create_user(session=session, email=email, password=DEMO_PASSWORD, role=UserRole.ADMIN)
        else:
            builder = session.exec(select(Builder).where(Builder.slug == slug)).first()
            if builder is None:
                continue
            create_user(session=session, email=email, password=DEMO_PASSWORD, role=UserRole.BUILDER,
                        builder_id=builder.id)
        created.append(email)
    return created


def retire_demo_accounts(*, session: Session) -> int:
    """On real Stripe the demo sign-ins (known passwords) must not work: switch off any left over."""
    from booking.core.models import UserAccount

    retired = 0
    for email, _slug in DEMO_ACCOUNTS:
        user = session.exec(select(UserAccount).where(UserAccount.email == email)).first()
        if user is not None and user.active:
            user.active = False
            session.add(user)
            retired += 1
    return retired
