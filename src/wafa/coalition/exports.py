"""A statement as a file: CSV (one line per row, amounts in major units) and PDF (rendered from HTML by
WeasyPrint, Arabic names shaped right to left by Pango)."""

from __future__ import annotations

import csv
import io
from html import escape

from wafa.coalition import settlement
from wafa.coalition.models import Statement
from wafa.errors import PdfUnavailable
from wafa.money import to_major


def _cell(text: str) -> str:
    """A text cell a spreadsheet will not run as a formula (a name starting with =, +, -, @)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_of(statement: Statement, *, party_name: str) -> str:
    """The statement as CSV: a header block, then code, label, points, amount per line, then the net."""
    party_name = _cell(party_name)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["statement", statement.id])
    writer.writerow(["party", party_name])
    writer.writerow(["period", statement.period, statement.starts_at.isoformat(), statement.ends_at.isoformat()])
    writer.writerow(["currency", statement.currency])
    writer.writerow([])
    writer.writerow(["code", "label", "points", "amount"])
    for line in statement.lines:
        writer.writerow([
            line["code"], settlement.LABELS.get(line["code"], line["code"]),
            "" if line.get("points") is None else line["points"], to_major(line["amount"], statement.currency),
        ])
    writer.writerow(["net", "positive: the operator pays the partner", "", to_major(statement.net, statement.currency)])
    return out.getvalue()


def html_of(statement: Statement, *, party_name: str, operator_name: str) -> str:
    """The statement as a printable HTML page (what the PDF is rendered from)."""
    rows = "".join(
        f"<tr><td>{escape(settlement.LABELS.get(line['code'], line['code']))}</td>"
        f"<td class=n>{'' if line.get('points') is None else line['points']}</td>"
        f"<td class=n>{to_major(line['amount'], statement.currency)}</td></tr>"
        for line in statement.lines
    )
    net = to_major(statement.net, statement.currency)
    who = "The operator pays the partner" if statement.net > 0 else "The partner pays the operator" if statement.net < 0 else "Nothing to pay"
    return f"""<!doctype html><html><head><meta charset="utf-8"><style>
body {{ font-family: "DejaVu Sans", sans-serif; font-size: 11pt; }}
h1 {{ font-size: 16pt; margin-bottom: 0; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 1em; }}
td, th {{ border-bottom: 1px solid #ccc; padding: 4pt; text-align: start; }}
.n {{ text-align: end; font-variant-numeric: tabular-nums; }}
tfoot td {{ font-weight: bold; border-top: 2px solid #000; }}
</style></head><body>
<h1>{escape(operator_name)}: settlement statement {statement.id}</h1>
<p><bdi>{escape(party_name)}</bdi> · {escape(statement.period)} ({statement.starts_at:%Y-%m-%d %H:%M} to {statement.ends_at:%Y-%m-%d %H:%M} UTC)
· {escape(statement.currency)}</p>
<table><thead><tr><th>Line</th><th class=n>Points</th><th class=n>Amount</th></tr></thead>
<tbody>{rows}</tbody>
<tfoot><tr><td>{escape(who)}</td><td></td><td class=n>{net}</td></tr></tfoot></table>
<p>Points issued: {statement.points_issued} · points redeemed: {statement.points_redeemed} · closed {statement.closed_at:%Y-%m-%d %H:%M} UTC.
Amounts are signed from the partner's side: positive, the operator pays the partner.</p>
</body></html>"""


def pdf_of(statement: Statement, *, party_name: str, operator_name: str) -> bytes:
    """The statement as PDF."""
    try:
        from weasyprint import HTML  # imported here: it loads Pango, which only PDF export needs
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(f"PDF export needs WeasyPrint and Pango on the server: {exc}") from None
    return HTML(string=html_of(statement, party_name=party_name, operator_name=operator_name)).write_pdf()
