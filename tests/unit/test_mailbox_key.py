"""Which addresses are one inbox (members.service.mailbox_key)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wafa.members.service import mailbox_key


@pytest.mark.parametrize(("address", "key"), [
    ("Sara@Example.com", "sara@example.com"),
    ("sara+promo@example.com", "sara@example.com"),
    ("sara.ali+x+y@gmail.com", "saraali@gmail.com"),
    ("Sara.Ali@GoogleMail.com", "saraali@gmail.com"),
    ("sara.ali@example.com", "sara.ali@example.com"),       # dots matter outside Gmail
    ("+only@example.com", "+only@example.com"),             # nothing before the "+": kept whole
    ("...@gmail.com", "...@gmail.com"),
    ("not-an-address", "not-an-address"),
    (None, None),
    ("", None),
])
def test_mailbox_keys(address: str | None, key: str | None) -> None:
    assert mailbox_key(address) == key


@given(local=st.from_regex(r"[a-z][a-z0-9.]{0,20}", fullmatch=True), tag=st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True),
       domain=st.sampled_from(["gmail.com", "example.com", "outlook.com"]))
def test_a_sub_address_is_always_the_same_inbox_and_the_key_is_stable(local: str, tag: str, domain: str) -> None:
    key = mailbox_key(f"{local}@{domain}")
    assert mailbox_key(f"{local}+{tag}@{domain}") == key
    assert mailbox_key(key) == key
