#!/usr/bin/env python3
"""Writes the typed source workbooks (flat ODF, .fods) that make-fixtures.sh
converts with LibreOffice and Gnumeric.

A CSV cannot say that a cell is a date, that "000123" is text or that a cell
is a formula, and each program would guess differently; a .fods states every
cell's type and number format, so both programs start from the same values.

Usage: fods.py OUTDIR  (writes credentials.fods, credentials-western.fods,
credentials-fr.fods, dates-1904.fods, titled-header.fods, formulas.fods)
"""

import os
import sys
import unicodedata
from xml.sax.saxutils import escape, quoteattr

HEADER = ["Recipient Name", "E-mail Address", "Credential ID", "Issue Date",
          "Expiry Date", "Course Hours", "Grade"]

# Rows of the credentials fixtures; None is an empty cell, [] a blank row.
CREDENTIALS = [
    ["José Ñúñez", "jose.nunez@example.com", "000123", "2024-01-15", "2026-01-15", 40, "A"],
    ["Zoë Ærøskøbing", "zoe.aeroskobing@example.dk", "000124", "2023-11-30", "2025-11-30", 12.5, "B+"],
    ["François Lefèvre", "francois.lefevre@example.fr", "000125", "2024-02-29", None, 8, None],
    [],
    ["Łukasz Żółć", "lukasz.zolc@example.pl", "000007", "2024-03-10", "2027-03-10", 1234.75, "Pass"],
    ["山田 太郎", "taro.yamada@example.jp", "012345", "2021-12-31", "2023-12-31", 0.5, "A"],
]

# The same learners as a Western European user keeps them: every character is
# in Windows-1252 ("œ" is one of the characters Latin-1 lacks).
WESTERN = CREDENTIALS[:4] + [
    ["Chloé Cœur", "chloe.coeur@example.fr", "000007", "2024-03-10", "2027-03-10", 1234.75, "Pass"],
    ["Søren Müller", "soren.muller@example.de", "012345", "2021-12-31", "2023-12-31", 0.5, "A"],
]

NS = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "number": "urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0",
    "fo": "urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0",
    "of": "urn:oasis:names:tc:opendocument:xmlns:of:1.2",
}

STYLES = """
  <number:date-style style:name="N_ISO">
   <number:year number:style="long"/><number:text>-</number:text>
   <number:month number:style="long"/><number:text>-</number:text>
   <number:day number:style="long"/>
  </number:date-style>
  <number:date-style style:name="N_DMY" number:language="fr" number:country="FR">
   <number:day number:style="long"/><number:text>/</number:text>
   <number:month number:style="long"/><number:text>/</number:text>
   <number:year number:style="long"/>
  </number:date-style>
  <number:number-style style:name="N_FR" number:language="fr" number:country="FR">
   <number:number number:min-integer-digits="1"/>
  </number:number-style>
  <style:style style:name="ce_iso" style:family="table-cell" style:parent-style-name="Default" style:data-style-name="N_ISO"/>
  <style:style style:name="ce_dmy" style:family="table-cell" style:parent-style-name="Default" style:data-style-name="N_DMY"/>
  <style:style style:name="ce_fr" style:family="table-cell" style:parent-style-name="Default" style:data-style-name="N_FR"/>
  <style:style style:name="ce_text" style:family="table-cell" style:parent-style-name="Default" style:data-style-name="N_TEXT"/>
  <number:text-style style:name="N_TEXT"><number:text-content/></number:text-style>
"""


class Date(str):
    """An ISO date to be written as a date cell."""


class Formula(str):
    """An OpenFormula expression; the program that loads it calculates it."""


def cell(v, date_style="ce_iso", number_style=None, text_style="ce_text"):
    if v is None:
        return "<table:table-cell/>"
    if isinstance(v, Formula):
        # No cached result: LibreOffice then calculates the formula on load
        # (a cached result in the source would be written out unchecked).
        return "<table:table-cell table:formula=%s/>" % quoteattr("of:=" + v)
    if isinstance(v, bool):
        return ('<table:table-cell office:value-type="boolean" office:boolean-value="%s">'
                "<text:p>%s</text:p></table:table-cell>" % ("true" if v else "false", "TRUE" if v else "FALSE"))
    if isinstance(v, Date):
        return ('<table:table-cell table:style-name="%s" office:value-type="date" office:date-value="%s">'
                "<text:p>%s</text:p></table:table-cell>" % (date_style, v, v))
    if isinstance(v, (int, float)):
        style = ' table:style-name="%s"' % number_style if number_style else ""
        return ('<table:table-cell%s office:value-type="float" office:value="%r">'
                "<text:p>%r</text:p></table:table-cell>" % (style, v, v))
    style = ' table:style-name="%s"' % text_style if text_style and v.isdigit() else ""
    return ('<table:table-cell%s office:value-type="string"><text:p>%s</text:p></table:table-cell>'
            % (style, escape(v)))


def row(cells, **kw):
    if not cells:
        return '<table:table-row><table:table-cell table:number-columns-repeated="%d"/></table:table-row>' % len(HEADER)
    return "<table:table-row>" + "".join(cell(c, **kw) for c in cells) + "</table:table-row>"


def document(sheets, null_date=None):
    """sheets: list of (name, rows, cell kwargs)."""
    settings = ""
    if null_date:
        settings = ('<table:calculation-settings><table:null-date table:date-value="%s"/>'
                    "</table:calculation-settings>" % null_date)
    tables = []
    for name, rows, kw in sheets:
        ncols = max((len(r) for r in rows), default=1)
        tables.append('<table:table table:name=%s><table:table-column table:number-columns-repeated="%d"/>%s</table:table>'
                      % (quoteattr(name), ncols, "\n".join(row(r, **kw) for r in rows)))
    xmlns = " ".join('xmlns:%s="%s"' % kv for kv in NS.items())
    return ('<?xml version="1.0" encoding="UTF-8"?>\n'
            '<office:document %s office:version="1.2" '
            'office:mimetype="application/vnd.oasis.opendocument.spreadsheet">\n'
            "<office:automatic-styles>%s</office:automatic-styles>\n"
            "<office:body><office:spreadsheet>%s\n%s\n</office:spreadsheet></office:body>\n"
            "</office:document>\n" % (xmlns, STYLES, settings, "\n".join(tables)))


def typed(rows):
    """Marks the date columns of credential rows as dates."""
    out = []
    for r in rows:
        r = list(r)
        for i in (3, 4):
            if i < len(r) and r[i] is not None:
                r[i] = Date(r[i])
        out.append(r)
    return out


def ascii_slug(s):
    """Folds a surname to the ASCII an email address would carry."""
    s = unicodedata.normalize("NFKD", s.replace("ł", "l").replace("Ł", "L"))
    return "".join(c for c in s if c.isascii() and (c.isalnum() or c == "-")).lower()


def formulas_rows():
    """450+ learners with distinct names and emails: the shared-string table
    outgrows one 8 KB record, so it needs CONTINUE records."""
    first = ["Amélie", "Bartłomiej", "Chloé", "Dmitrij", "Eleanor", "Fátima", "Grégoire",
             "Hyun-woo", "Ingrid", "Jürgen", "Kateřina", "Luís", "Małgorzata", "Nikolaos",
             "Oğuz", "Paweł", "Quentin", "Renée", "Søren", "Thérèse"]
    last = ["Abernathy-Castellanos", "Bergström", "Castelnau-Magnoac", "Dvořáková",
            "Esterházy", "Fitzgerald-O'Connor", "Gonçalves da Silva", "Hämäläinen",
            "Ivanović", "Jędrzejczyk", "Kowalczyk-Nowak", "Lindqvist", "Müller-Lüdenscheidt"]
    header = ["Recipient Name", "E-mail Address", "Course Hours", "Double Hours",
              "Passed", "Active", "Certificate Label", "Note", "Hours Per Module"]
    rows = [header]
    for i in range(1, 461):
        name = "%s %s %03d" % (first[i % len(first)], last[i % len(last)], i)
        email = "learner.%03d.%s@training.example.org" % (i, ascii_slug(last[i % len(last)]))
        hours = (i * 7) % 48 + 1
        r = len(rows) + 1  # the 1-based sheet row this learner lands on
        rows.append([
            name, email, hours,
            Formula("[.C%d]*2" % r),
            Formula("[.C%d]>=10" % r),
            i % 3 != 0,
            Formula('[.A%d]&" <"&[.B%d]&">"' % (r, r)),
            Formula('IF([.C%d]>40;"Honours";"")' % r),
            Formula("[.C%d]/3" % r),
        ])
    # One division by zero: a cached error result.
    rows[1][3] = Formula("1/0")
    return rows


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    creds = [HEADER] + typed(CREDENTIALS)
    docs = {
        "credentials.fods": document([("Credentials", creds, {})]),
        "credentials-western.fods": document([("Credentials", [HEADER] + typed(WESTERN), {})]),
        # The same data as a French user keeps it: DD/MM/YYYY dates, decimal comma.
        "credentials-fr.fods": document([("Credentials", creds, {"date_style": "ce_dmy", "number_style": "ce_fr"})]),
        "dates-1904.fods": document([("Credentials", creds, {})], null_date="1904-01-01"),
        "titled-header.fods": document([("Credentials",
                                         [["UX Foundations — credential update, March 2024"], []] + creds, {})]),
        "formulas.fods": document([("Learners", formulas_rows(), {})]),
    }
    for name, text in docs.items():
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
