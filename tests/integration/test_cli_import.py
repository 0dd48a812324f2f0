"""`wafa import purchases` and `wafa export`: other systems' files through a column mapping, bad rows
reported by line while good rows load, importing twice changes nothing, Parquet as well as CSV, points
only when asked; exports that read back."""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.integration.test_cli import wafa  # noqa: F401  (the fixture)

MAP = ["--map", "customer_id=CustomerID", "--map", "date=InvoiceDate", "--map", "amount=Total", "--map", "currency=Currency",
       "--map", "order_id=Invoice", "--map", "items=Items"]


def tenant(wafa) -> str:  # type: ignore[no-untyped-def]  # noqa: F811
    name = f"imp-{uuid.uuid4().hex[:8]}"
    code, _, _ = wafa("tenant", "create", "Imports", "--currency", "SAR", "--slug", name, "--json")
    assert code == 0
    return name


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["CustomerID", "InvoiceDate", "Total", "Currency", "Invoice", "Items"])
        writer.writerows(rows)
    return path


ROWS = [
    ["C1", "2025-01-05", "120.50", "SAR", "INV-1", ""],
    ["C1", "2025-02-05T10:00:00+03:00", "80.00", "", "INV-2",
     json.dumps([{"sku": "COF", "category": "coffee", "quantity": 2, "unit_price": "40.00"}])],
    ["C2", "2025-02-07", "abc", "SAR", "INV-3", ""],
    ["", "2025-02-07", "10.00", "SAR", "INV-4", ""],
    ["C3", "2025-03-01", "15.00", "SAR", "", ""],
    ["C3", "2025-03-01", "15.00", "SAR", "", ""],  # the same again: a second purchase, not a duplicate
    ["C4", "2099-01-01", "5.00", "SAR", "INV-5", ""],
    ["C5", "2025-03-02", "5.00", "EUR", "INV-6", ""],
    ["C6", "2025-03-03", "5.00", "SAR", "INV-7", "not json"],
]


def test_import_reports_bad_rows_by_line_and_loads_the_good_ones_once(wafa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = tenant(wafa)
    path = write_csv(tmp_path / "history.csv", ROWS)
    code, out, _ = wafa("import", "purchases", str(path), "--tenant", name, *MAP, "--json")
    assert code == 0, out
    first = json.loads(out)
    assert (first["rows"], first["imported"], first["already_there"], first["bad_rows"], first["members_enrolled"]) == (9, 4, 0, 5, 2)
    assert [b["line"] for b in first["bad"]] == [4, 5, 8, 9, 10]
    assert "not a decimal" in first["bad"][0]["reason"] and "CustomerID is empty" in first["bad"][1]["reason"]
    assert "future" in first["bad"][2]["reason"] and "EUR" in first["bad"][3]["reason"] and "items" in first["bad"][4]["reason"]
    code, out, _ = wafa("import", "purchases", str(path), "--tenant", name, *MAP, "--json")
    again = json.loads(out)
    assert (again["imported"], again["already_there"], again["members_enrolled"]) == (0, 4, 0)  # nothing changed

    exported = tmp_path / "purchases.csv"
    code, _, _ = wafa("export", "purchases", "--tenant", name, "--output", str(exported))
    assert code == 0
    purchases = list(csv.DictReader(exported.open()))
    assert sorted(p["amount"] for p in purchases) == ["120.50", "15.00", "15.00", "80.00"]
    assert {p["points"] for p in purchases} == {"0"}  # no --award: history for analytics only
    members = tmp_path / "members.parquet"
    code, _, _ = wafa("export", "members", "--tenant", name, "--output", str(members))
    table = pq.read_table(members).to_pylist()
    assert sorted(m["external_id"] for m in table) == ["C1", "C3"]
    c1 = next(m for m in table if m["external_id"] == "C1")
    assert c1["enrolled_at"].isoformat().startswith("2025-01-05")  # enrolled at their first purchase


def test_import_parquet_with_award_gives_points_through_the_live_path(wafa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = tenant(wafa)
    path = tmp_path / "history.parquet"
    pq.write_table(pa.table({
        "customer_id": ["A", "A", "B"], "date": ["2025-05-01", "2025-05-02", "2025-05-03"], "amount": [100.0, 50.25, 10.0],
        "order_id": ["P-1", "P-2", "P-3"],
    }), path)
    code, out, _ = wafa("import", "purchases", str(path), "--tenant", name, "--award", "--json")
    assert code == 0, out
    body = json.loads(out)
    assert (body["imported"], body["awarded_points"], body["members_enrolled"]) == (3, 160, 2)
    code, out, _ = wafa("import", "purchases", str(path), "--tenant", name, "--award", "--json")
    assert (json.loads(out)["imported"], json.loads(out)["already_there"], json.loads(out)["awarded_points"]) == (0, 3, 0)
    entries = tmp_path / "entries.csv"
    assert wafa("export", "entries", "--tenant", name, "-o", str(entries))[0] == 0
    rows = list(csv.DictReader(entries.open()))
    assert sorted(int(r["points"]) for r in rows) == [10, 50, 100]
    code, out, _ = wafa("ledger", "verify", "--tenant", name, "--json")
    assert code == 0 and json.loads(out)["ok"] is True


def test_import_bad_usage(wafa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = tenant(wafa)
    path = write_csv(tmp_path / "h.csv", ROWS[:1])
    code, _, err = wafa("import", "purchases", str(path), "--tenant", name, "--map", "customer=CustomerID")
    assert code == 2 and "the fields are" in err
    code, _, err = wafa("import", "purchases", str(path), "--tenant", name, "--map", "customer_id")
    assert code == 2 and "FIELD=COLUMN" in err
    code, _, err = wafa("export", "purchases", "--tenant", name, "-o", str(tmp_path / "x.xlsx"), "--format", "xlsx")
    assert code == 2 and "csv or parquet" in err
    code, _, err = wafa("import", "purchases", str(path), "--tenant", "nobody", *MAP)
    assert code == 1 and "Traceback" not in err


def test_import_keeps_margins_and_payment_dates_for_abc(wafa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = tenant(wafa)
    path = tmp_path / "invoices.csv"
    path.write_text("customer_id,date,amount,order_id,margin,paid_at\nB1,2025-06-01,1000.00,I-1,-50.00,2025-06-21\n"
                    "B1,2025-06-02,100.00,I-2,abc,\n")
    _code, out, _ = wafa("import", "purchases", str(path), "--tenant", name, "--json")
    body = json.loads(out)
    assert (body["imported"], body["bad_rows"]) == (1, 1) and "margin" in body["bad"][0]["reason"]


def test_out_of_range_values_are_bad_rows_not_a_failed_import(wafa, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    name = tenant(wafa)
    path = tmp_path / "odd.csv"
    path.write_text(
        "customer_id,date,amount,order_id,quantity,items\n"
        "A,9999-12-31T23:00:00-05:00,5.00,X1,,\n"
        "A,0001-01-01,5.00,X2,,\n"
        "A,1900-01-01,5.00,X3,,\n"
        "A,2025-01-01,5.00,X4,Infinity,\n"
        'A,2025-01-01,5.00,X5,,"[{""sku"": ""a"", ""quantity"": 1e400}]"\n'
        "A,2025-01-01,5.00,X6,2.5,\n"
        "A,2025-01-02,5.00,X7,3,\n"
    )
    code, out, _ = wafa("import", "purchases", str(path), "--tenant", name, "--json")
    assert code == 0, out
    body = json.loads(out)
    assert (body["imported"], body["bad_rows"]) == (1, 6) and [b["line"] for b in body["bad"]] == [2, 3, 4, 5, 6, 7]


def test_members_join_at_their_first_purchase_in_the_file_whatever_its_order(wafa, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from wafa.events import imports

    monkeypatch.setattr(imports, "BATCH", 1)  # one row per batch: the earlier purchase comes in a later one
    name = tenant(wafa)
    path = tmp_path / "unsorted.csv"
    path.write_text("customer_id,date,amount,order_id\nC1,2025-06-01,10.00,J\nC1,2025-01-01,10.00,A\n")
    assert wafa("import", "purchases", str(path), "--tenant", name, "--json")[0] == 0
    members = tmp_path / "members.csv"
    wafa("export", "members", "--tenant", name, "-o", str(members))
    assert next(csv.DictReader(members.open()))["enrolled_at"].startswith("2025-01-01")


def test_parquet_export_of_columns_empty_at_first(wafa, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from wafa.analytics import exports

    monkeypatch.setattr(exports, "BATCH", 1)
    name = tenant(wafa)
    wafa("import", "purchases", str(write_csv(tmp_path / "h.csv", ROWS[:2])), "--tenant", name, *MAP)
    code, _, _ = wafa("export", "purchases", "--tenant", name, "-o", str(tmp_path / "p.parquet"))
    assert code == 0
    assert pq.read_table(tmp_path / "p.parquet").num_rows == 2
