"""The schema matches the answers: schemathesis generates requests for every operation of the
schema (a bounded number each) and sends them to a live server with a brand's API key; each answer
must have a documented status, content type, headers and body, and never be a server error.

Operations added later are covered with no change here. An operation whose answers another change
is still fixing is marked with the reason (`KNOWN`), and the test says when it starts to pass."""

from __future__ import annotations

import pytest
import requests
import schemathesis
from django_tenants.utils import schema_context
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks

EXAMPLES_PER_OPERATION = 8
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
]
# "METHOD /path": why its answers do not match the schema yet, and where that is being fixed.
KNOWN: dict[str, str] = {}


def _schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _labels() -> list[str]:
    schema = schemathesis.openapi.from_dict(_schema())
    return sorted(result.ok().label for result in schema.get_all_operations())


def _param(label: str):
    marks = [pytest.mark.xfail(reason=KNOWN[label], strict=False)] if label in KNOWN else []
    return pytest.param(label, id=label, marks=marks)


@pytest.fixture(scope="module")
def openapi():
    return schemathesis.openapi.from_dict(_schema())


@pytest.fixture(scope="module")
def known_ids(live_brand, django_db_blocker) -> dict[str, object]:
    """Things of the brand that path parameters can name, so that answers about real ones (a
    member's ledger and orders, a gift, a rule, a tier) are checked too, not only 404s."""
    from catalog.services import RedeemItem, order_place
    from loyalty.rule_examples import POINT_PER_EURO
    from loyalty.services.rules import rule_create
    from loyalty.services.tiers import tier_create
    from tests.catalog.factories import gift_make
    from tests.factories import member_make

    with django_db_blocker.unblock(), schema_context(live_brand.brand.schema_name):
        member = member_make("dev-1", points=1000)
        gift = gift_make(name="Cinema ticket", codes=["CODE-1", "CODE-2"])
        order, _ = order_place(
            member_id=member.pk, items=[RedeemItem(gift_id=gift.pk)], idempotency_key="o-1", actor="test"
        )
        rule = rule_create(data=POINT_PER_EURO)
        tier = tier_create(data={"code": "gold", "name": "Gold", "threshold": "500"})
    return {
        "external_id": "dev-1",
        "gift_id": gift.pk,
        "order_id": order.pk,
        "rule_id": rule.pk,
        "code": tier.code,
    }


@pytest.mark.slow
@pytest.mark.parametrize("label", [_param(label) for label in _labels()])
def test_answers_match_the_schema(label, openapi, live_brand, known_ids):
    operation = openapi.find_operation_by_label(label)
    session = requests.Session()
    headers = {"Host": live_brand.host, "Authorization": f"Api-Key {live_brand.key}"}
    base_url = live_brand.base_url

    @given(case=operation.as_strategy(), known=st.booleans())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def answers_conform(case, known):
        if known and case.path_parameters:  # half the examples name things that exist
            case.path_parameters = {
                name: known_ids.get(name, value) for name, value in case.path_parameters.items()
            }
        response = case.call(base_url=base_url, session=session, headers=headers, timeout=30)
        case.validate_response(response, checks=CHECKS)

    answers_conform()
