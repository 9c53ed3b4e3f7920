"""The demo brands that `make run` seeds once: three real programmes the platform must run."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django_tenants.utils import schema_context

from billing.demo import demo_billing_seed
from clubs.demo import demo_clubs_seed
from community.demo import demo_community_seed
from core.models import StaffProfile
from core.staff import staff_role_set
from gatherings.demo import demo_gatherings_seed
from loyalty.demo import demo_programme_seed
from loyalty.models import Member
from messaging.demo import demo_messaging_seed

from .models import Brand, PlatformPlan
from .plans import brand_plan_assign, plan_create
from .services import brand_create, public_brand_ensure


@dataclass(frozen=True)
class DemoBrand:
    slug: str
    name: str
    admin_email: str
    timezone: str
    currency: str
    language: str
    pitch: str


DEMO_BRANDS = (
    DemoBrand(
        "citycar",
        "CityCar Club",
        "admin@citycar.example",
        "Europe/Paris",
        "EUR",
        "fr",
        "Car-sharing club: happy-hour trips into Paris earn up to 200 points; 100 points = 5 EUR.",
    ),
    DemoBrand(
        "tabac-pro",
        "Tabac Pro Rewards",
        "admin@tabac-pro.example",
        "Europe/Paris",
        "EUR",
        "fr",
        "B2B programme for tobacconists: activation letters, SMS, voice reminders, gift catalogue.",
    ),
    DemoBrand(
        "grand-cru",
        "Grand Cru Cellar Club",
        "admin@grand-cru.example",
        "Europe/Paris",
        "EUR",
        "en",
        "Wine merchant with a VIP club for customers who spent over 1,000 EUR in 9 months.",
    ),
)

OPERATOR_USERNAME = "operator"

# The operator's plans for brands (README.md, "Platform plans"), and each demo brand's.
DEMO_PLANS = (
    {"code": "starter", "name": "Starter", "members_limit": 1000, "messages_per_month": 5000},
    {
        "code": "pro",
        "name": "Pro",
        "members_limit": None,
        "messages_per_month": 50000,
        "application_fee_percent": 2,
    },
)
DEMO_BRAND_PLANS = {"citycar": "pro", "tabac-pro": "starter", "grand-cru": "pro"}

# Staff of every role on each demo brand (`<name>@<slug>.example`), so each role's backoffice can be
# tried; the brand's admin is its owner. The sales rep follows the brand's demo member.
DEMO_STAFF = (
    ("manager", StaffProfile.Role.MANAGER),
    ("support", StaffProfile.Role.SUPPORT),
    ("rep", StaffProfile.Role.SALES_REP),
    ("analyst", StaffProfile.Role.ANALYST),
)


def demo_plans_seed() -> None:
    """The demo plans that do not exist yet, and the demo brands without a plan put on theirs (the
    operator's changes are kept)."""
    for values in DEMO_PLANS:
        if not PlatformPlan.objects.filter(code=values["code"]).exists():
            plan_create(**values)
    for brand in Brand.objects.filter(slug__in=DEMO_BRAND_PLANS, platform_plan__isnull=True):
        brand_plan_assign(brand=brand, plan=PlatformPlan.objects.get(code=DEMO_BRAND_PLANS[brand.slug]))


def demo_seed() -> list[tuple[DemoBrand, bool]]:
    """Create the operator and the demo brands that do not exist yet; return (brand, created)."""
    public_brand_ensure()
    with transaction.atomic():
        user_model = get_user_model()
        if not user_model.objects.filter(username=OPERATOR_USERNAME).exists():
            user_model.objects.create_superuser(
                username=OPERATOR_USERNAME, email="operator@example.com", password=settings.DEMO_PASSWORD
            )
    results = []
    for demo in DEMO_BRANDS:
        exists = Brand.objects.filter(slug=demo.slug).exists()
        if not exists:
            brand, _ = brand_create(
                slug=demo.slug,
                name=demo.name,
                admin_email=demo.admin_email,
                admin_password=settings.DEMO_PASSWORD,
                timezone_name=demo.timezone,
                currency=demo.currency,
                language=demo.language,
            )
            with schema_context(brand.schema_name):
                demo_programme_seed(slug=demo.slug)
        # Every run: brands seeded before messaging existed get its templates (idempotent).
        with schema_context(Brand.objects.get(slug=demo.slug).schema_name):
            demo_messaging_seed(slug=demo.slug)
            demo_billing_seed(slug=demo.slug)
            demo_clubs_seed(slug=demo.slug)
            demo_gatherings_seed(slug=demo.slug)
            demo_community_seed(slug=demo.slug)
            _demo_staff_seed(slug=demo.slug)
        results.append((demo, not exists))
    demo_plans_seed()
    return results


def _demo_staff_seed(*, slug: str) -> None:
    """The demo staff that do not exist yet (a staff user changed by hand is kept)."""
    users = get_user_model().objects
    for name, role in DEMO_STAFF:
        email = f"{name}@{slug}.example"
        if users.filter(username=email).exists():
            continue
        with transaction.atomic():
            user = users.create_user(
                username=email, email=email, password=settings.DEMO_PASSWORD, is_staff=True
            )
            staff_role_set(user=user, role=role)
            if role == StaffProfile.Role.SALES_REP:
                Member.objects.filter(sales_rep__isnull=True, user__isnull=False).update(sales_rep=user)
