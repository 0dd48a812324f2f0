"""What location offers ask of the stores: which stores exist, where the member is checked in today
while the store is open, and the stores' names to show."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from wafa.errors import InvalidInput
from wafa.stores import service as stores
from wafa.stores.open_check_ins import open_check_ins


def known_codes(session: Session, *, tenant_id: int, codes: list[str]) -> list[str]:
    """The codes as given, each checked to name one of the program's stores."""
    wanted = sorted(set(codes))
    missing = [code for code in wanted if stores.get_by_code(session, tenant_id=tenant_id, code=code) is None]
    if missing:
        raise InvalidInput(f"no store {', '.join(map(repr, missing))}", field="store_codes")
    return wanted


def checked_in_open(session: Session, *, tenant_id: int, member_id: int, store_codes: set[str], at: datetime) -> set[str]:
    """The stores among these where the member checked in today (the store's day) and which are open at `at`."""
    return open_check_ins(session, tenant_id=tenant_id, member_id=member_id, store_codes=store_codes, at=at)


def names(session: Session, *, tenant_id: int, codes: set[str], lang: str) -> dict[str, str]:
    out = {}
    for code in sorted(codes):
        store = stores.get_by_code(session, tenant_id=tenant_id, code=code)
        if store is not None:
            out[code] = (store.name_ar or store.name_en) if lang == "ar" else store.name_en
    return out
