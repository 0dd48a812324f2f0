"""Challenge leaderboards and the nicknames members show on them: only members who opted in, best
progress first; nicknames unique regardless of case and spacing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.api.test_challenges import DAY, MINUTE, TWO_PURCHASES, board, buy, challenge, member, nickname
from tests.conftest import make_tenant, problem
from wafa.clock import FrozenClock

# --- leaderboards ----------------------------------------------------------------------------


def test_leaderboard_orders_by_progress_then_completion_then_who_got_there_first(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "race", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY)
    # Enrolled in reverse so that member ids would give the opposite order.
    ids = {name: member(client, name) for name in ("e", "d", "z", "y", "x")}
    for name, who in ids.items():
        nickname(client, who, f"Player {name.upper()}")
    for n, name in enumerate(["x", "x", "y", "y", "d", "e", "z", "z", "y", "x"]):
        clock.advance(MINUTE)
        buy(client, ids[name], f"O{n}")
    rows = board(client, made["id"])["rows"]
    assert [(r["rank"], r["nickname"], r["progress"]) for r in rows] == [
        (1, "Player X", "3"), (2, "Player Y", "3"), (3, "Player Z", "2"), (4, "Player D", "1"), (5, "Player E", "1"),
    ]
    # X completed first though Y reached 3 before X did.
    assert rows[0]["completed_at"] < rows[1]["completed_at"] < rows[2]["completed_at"]
    assert rows[3]["completed_at"] is None and rows[4]["completed_at"] is None
    assert all(r["you"] is False for r in rows)


def test_leaderboard_limit_keeps_the_top(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "race", {"metric": "purchases", "at_least": "5"}, clock.now(), clock.now() + 7 * DAY)
    for n, name in enumerate(("a", "b", "c")):
        who = member(client, name)
        nickname(client, who, f"Player {name}")
        for k in range(3 - n):
            clock.advance(MINUTE)
            buy(client, who, f"{name}{k}")
    found = board(client, made["id"], limit=2)
    assert (found["challenge"], found["target"]) == ("race", "5")
    assert [(r["rank"], r["nickname"], r["progress"]) for r in found["rows"]] == [(1, "Player a", "3"), (2, "Player b", "2")]
    assert len(board(client, made["id"])["rows"]) == 3
    problem(client.get(f"/v1/challenges/{made['id']}/leaderboard", params={"limit": 0}), 422, "/problems/invalid-input", "query.limit")
    problem(client.get(f"/v1/challenges/{made['id']}/leaderboard", params={"limit": 101}), 422, "/problems/invalid-input", "query.limit")


def test_leaderboard_lists_only_opted_in_members_with_a_nickname(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "race", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY)
    shown, hidden, anonymous, idle = (member(client, name) for name in ("shown", "hidden", "anon", "idle"))
    nickname(client, shown, "Shown")
    nickname(client, hidden, "Hidden", opt_in=False)
    nickname(client, idle, "Idle")  # opted in, but has done nothing
    for who, order in ((hidden, "H1"), (hidden, "H2"), (anonymous, "A1"), (anonymous, "A2"), (shown, "S1")):
        clock.advance(MINUTE)
        buy(client, who, order)
    found = board(client, made["id"])
    assert [(r["rank"], r["nickname"], r["progress"]) for r in found["rows"]] == [(1, "Shown", "1")]
    assert found["you"] is None


def test_leaderboard_ranks_you_among_those_shown_even_when_opted_out(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "race", {"metric": "purchases", "at_least": "3"}, clock.now(), clock.now() + 7 * DAY)
    top, low, me, nobody = (member(client, name) for name in ("top", "low", "me", "nobody"))
    nickname(client, top, "Top")
    nickname(client, low, "Low")
    nickname(client, me, "Quiet One", opt_in=False)
    for who, order in ((top, "T1"), (top, "T2"), (top, "T3"), (me, "M1"), (me, "M2"), (low, "L1")):
        clock.advance(MINUTE)
        buy(client, who, order)
    found = board(client, made["id"], member_id=me)
    assert [r["nickname"] for r in found["rows"]] == ["Top", "Low"]
    assert found["you"] == {"rank": 2, "nickname": "Quiet One", "progress": "2", "completed_at": None, "you": True}
    shown = board(client, made["id"], member_id=low)
    assert [r["you"] for r in shown["rows"]] == [False, True]
    assert (shown["you"]["rank"], shown["you"]["nickname"]) == (2, "Low")
    assert board(client, made["id"], member_id=nobody)["you"] is None
    problem(client.get(f"/v1/challenges/{made['id']}/leaderboard", params={"member_id": 999999999}), 404, "/problems/not-found")


def test_leaderboard_ranks_you_level_with_others_by_who_got_there_first(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "race", {"metric": "purchases", "at_least": "3"}, clock.now(), clock.now() + 7 * DAY)
    early, me, late = member(client, "early"), member(client, "me"), member(client, "late")
    nickname(client, early, "Early Bird")
    nickname(client, late, "Late Comer")
    for who, order in ((early, "E1"), (me, "M1"), (late, "L1")):
        clock.advance(MINUTE)
        buy(client, who, order)
    found = board(client, made["id"], member_id=me)
    assert [(r["rank"], r["nickname"]) for r in found["rows"]] == [(1, "Early Bird"), (2, "Late Comer")]
    assert (found["you"]["rank"], found["you"]["nickname"], found["you"]["progress"]) == (2, "", "1")
    assert board(client, made["id"], limit=1, member_id=late)["you"]["rank"] == 2


def test_leaderboard_of_an_unknown_challenge_is_404(client: TestClient) -> None:
    problem(client.get("/v1/challenges/999999999/leaderboard"), 404, "/problems/not-found")


def test_leaderboard_of_another_tenants_challenge_is_404(
    client: TestClient, clock: FrozenClock, factory: sessionmaker[Session],
) -> None:
    made = challenge(client, "race", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY)
    other = make_tenant(factory, clock.now())
    client.headers["Authorization"] = f"Bearer {other.admin_key}"
    problem(client.get(f"/v1/challenges/{made['id']}/leaderboard"), 404, "/problems/not-found")
    problem(client.patch(f"/v1/challenges/{made['id']}", json={"name_en": "Mine now"}), 404, "/problems/not-found")
    assert client.get("/v1/challenges").json()["items"] == []


# --- leaderboard profiles --------------------------------------------------------------------


def test_get_leaderboard_profile_without_one(client: TestClient) -> None:
    who = member(client)
    found = client.get(f"/v1/members/{who}/leaderboard-profile")
    assert found.status_code == 200
    assert found.json() == {"member_id": who, "nickname": "", "opt_in": False}
    problem(client.get("/v1/members/999999999/leaderboard-profile"), 404, "/problems/not-found")


def test_put_leaderboard_profile_squeezes_spaces(client: TestClient) -> None:
    who = member(client)
    made = client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": "  Star   Buyer "})
    assert made.status_code == 200, made.text
    assert made.json() == {"member_id": who, "nickname": "Star Buyer", "opt_in": True}
    assert client.get(f"/v1/members/{who}/leaderboard-profile").json() == made.json()


def test_put_leaderboard_profile_too_short_is_422(client: TestClient) -> None:
    who = member(client)
    for name in ("a", "  a   ", ""):
        problem(client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": name}), 422, "/problems/invalid-input", "nickname")
    problem(client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": "x" * 33}), 422, "/problems/invalid-input", "nickname")
    assert client.get(f"/v1/members/{who}/leaderboard-profile").json()["nickname"] == ""


def test_put_leaderboard_profile_with_control_characters_is_422(client: TestClient) -> None:
    who = member(client)
    for name in ("Sara\x00", "Sa\x07ra", "Sara\u200b", "Sa\x1bra"):
        problem(client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": name}), 422, "/problems/invalid-input", "nickname")
    assert client.get(f"/v1/members/{who}/leaderboard-profile").json()["nickname"] == ""


def test_put_leaderboard_profile_for_unknown_member_is_404(client: TestClient) -> None:
    problem(client.put("/v1/members/999999999/leaderboard-profile", json={"nickname": "Ghost"}), 404, "/problems/not-found")


def test_opt_out_hides_the_member_from_every_leaderboard(client: TestClient, clock: FrozenClock) -> None:
    first = challenge(client, "first", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY)
    second = challenge(client, "second", {"metric": "spend", "at_least": "50.00"}, clock.now(), clock.now() + 7 * DAY)
    who, other = member(client, "who"), member(client, "other")
    nickname(client, who, "Falcon")
    nickname(client, other, "Oryx")
    buy(client, who, "A", "20.00")
    buy(client, other, "B", "10.00")
    assert [r["nickname"] for r in board(client, first["id"])["rows"]] == ["Falcon", "Oryx"]
    assert [(r["nickname"], r["progress"]) for r in board(client, second["id"])["rows"]] == [("Falcon", "20.00"), ("Oryx", "10.00")]
    out = client.put(f"/v1/members/{who}/leaderboard-profile", json={"nickname": "Falcon", "opt_in": False})
    assert out.json() == {"member_id": who, "nickname": "Falcon", "opt_in": False}
    assert [r["nickname"] for r in board(client, first["id"])["rows"]] == ["Oryx"]
    assert [(r["rank"], r["nickname"]) for r in board(client, second["id"])["rows"]] == [(1, "Oryx")]


def test_nickname_taken_regardless_of_case_and_repeated_spaces_is_409(client: TestClient) -> None:
    a, b = member(client, "a"), member(client, "b")
    nickname(client, a, "Desert Rose")
    for name in ("desert rose", "DESERT   ROSE", "  Desert  Rose  "):
        problem(client.put(f"/v1/members/{b}/leaderboard-profile", json={"nickname": name}), 409, "/problems/conflict")
    assert client.get(f"/v1/members/{b}/leaderboard-profile").json()["nickname"] == ""
    nickname(client, b, "Desert Roses")
    assert client.get(f"/v1/members/{b}/leaderboard-profile").json()["nickname"] == "Desert Roses"


def test_nickname_taken_by_a_member_who_opted_out_is_409(client: TestClient) -> None:
    a, b = member(client, "a"), member(client, "b")
    nickname(client, a, "Falcon", opt_in=False)
    problem(client.put(f"/v1/members/{b}/leaderboard-profile", json={"nickname": "FALCON"}), 409, "/problems/conflict")


def test_changing_ones_own_nickname_keeps_it(client: TestClient) -> None:
    a, b = member(client, "a"), member(client, "b")
    nickname(client, a, "Desert Rose")
    changed = client.put(f"/v1/members/{a}/leaderboard-profile", json={"nickname": "DESERT  ROSE"})
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"member_id": a, "nickname": "DESERT ROSE", "opt_in": True}
    problem(client.put(f"/v1/members/{b}/leaderboard-profile", json={"nickname": "Desert Rose"}), 409, "/problems/conflict")
    renamed = client.put(f"/v1/members/{a}/leaderboard-profile", json={"nickname": "Sand Cat"})
    assert renamed.json()["nickname"] == "Sand Cat"
    nickname(client, b, "desert rose")  # free again once its holder moved on
    assert client.get(f"/v1/members/{b}/leaderboard-profile").json()["nickname"] == "desert rose"


def test_suspending_a_member_takes_them_off_the_leaderboards(client: TestClient, clock: FrozenClock) -> None:
    made = challenge(client, "first", TWO_PURCHASES, clock.now(), clock.now() + 7 * DAY)
    who = member(client, "who")
    nickname(client, who, "Falcon")
    buy(client, who, "A")
    assert [r["nickname"] for r in board(client, made["id"])["rows"]] == ["Falcon"]
    client.post(f"/v1/members/{who}/suspend", json={"reason": "fraud check"})
    assert board(client, made["id"])["rows"] == []
    assert client.get(f"/v1/members/{who}/leaderboard-profile").json() == {"member_id": who, "nickname": "Falcon", "opt_in": False}
    client.post(f"/v1/members/{who}/reactivate", json={"reason": "cleared"})
    nickname(client, who, "Falcon")  # opts in again by choice
    assert [r["nickname"] for r in board(client, made["id"])["rows"]] == ["Falcon"]
