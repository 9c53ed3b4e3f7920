"""The keys the backoffice's member search reads (loyalty.selectors.search), defined once for the
indexes of `Member` (migration 0021) and the queries that must use them: each is the lower-cased
value in the "C" collation, so one btree index serves `LIKE 'prefix%'` and the order of the matches,
whatever the database's collation. Empty values are left out of the indexes (partial)."""

from __future__ import annotations

from django.db.models import F, Index, Q, Value
from django.db.models.expressions import Combinable
from django.db.models.functions import Collate, Concat, Lower


def _folded(expression: Combinable) -> Collate:
    return Collate(Lower(expression), "C")


# name -> (the indexed expression, the index's condition: the query repeats it)
SEARCH_KEYS: dict[str, tuple[Collate, Q]] = {
    "full_name": (_folded(Concat(F("first_name"), Value(" "), F("last_name"))), ~Q(first_name="")),
    "last_name": (_folded(F("last_name")), ~Q(last_name="")),
    "email": (_folded(F("email")), ~Q(email="")),
    "company_name": (_folded(F("company_name")), ~Q(company_name="")),
    "external_id": (_folded(F("external_id")), Q()),
    "phone": (Collate(F("phone"), "C"), ~Q(phone="")),
}


def member_search_indexes() -> list[Index]:
    return [
        Index(expression, name=f"member_search_{name}", condition=condition or None)
        for name, (expression, condition) in SEARCH_KEYS.items()
    ]
