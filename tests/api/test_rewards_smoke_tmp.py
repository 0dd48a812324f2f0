from fastapi.testclient import TestClient


def test_flow(client: TestClient) -> None:
    m = client.post("/v1/members", json={"external_id": "m-1"}).json()["id"]
    client.post(f"/v1/members/{m}/adjustments", json={"points": 1000, "reason": "seed"})
    r = client.post("/v1/rewards", json={"key": "ten-off", "name_en": "10 SAR off", "name_ar": "خصم", "points": 300, "stock": 2,
        "gives": {"type": "coupon", "discount": {"type": "fixed", "amount": "10.00", "min_order": "50"}}})
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    lst = client.get(f"/v1/rewards?member_id={m}")
    assert lst.status_code == 200, lst.text
    print(lst.json())
    red = client.post(f"/v1/members/{m}/reward-redemptions", json={"reward_id": rid}, headers={"Idempotency-Key": "k1"})
    assert red.status_code == 201, red.text
    print(red.json())
    code = red.json()["coupon"]["code"]
    v = client.post(f"/v1/coupons/{code}:validate", json={"amount": "60.00", "currency": "SAR"})
    assert v.status_code == 200, v.text
    print(v.json())
    u = client.post(f"/v1/coupons/{code}:redeem", json={"amount": "60.00", "currency": "SAR", "order_id": "O-1"})
    assert u.status_code == 201, u.text
    u2 = client.post(f"/v1/coupons/{code}:redeem", json={"amount": "60.00", "currency": "SAR", "order_id": "O-2"})
    assert u2.status_code == 409, u2.text
    red2 = client.post(f"/v1/members/{m}/reward-redemptions", json={"reward_key": "ten-off"})
    assert red2.status_code == 201
    c = client.post(f"/v1/reward-redemptions/{red2.json()['id']}/cancel")
    assert c.status_code == 200, c.text
    print(c.json())
    camp = client.post("/v1/coupon-campaigns", json={"name": "x", "discount": {"type": "percent", "percent": "10"}, "count": 20})
    assert camp.status_code == 201, camp.text
    exp = client.get(f"/v1/coupon-campaigns/{camp.json()['id']}/codes")
    assert exp.status_code == 200 and len(exp.text.splitlines()) == 21, exp.text
    bal = client.get(f"/v1/members/{m}/balance").json()
    assert bal["available"] == 700, bal
