package engine

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/sheet"
)

// evaluate works out what one row would do. With final false, a row holding
// a date that the formats still in play read differently is not decided:
// ambiguous is true and the row is evaluated again at the end.
func (v *validation) evaluate(number int, cells []sheet.Cell, final bool) (o Outcome, ambiguous bool) {
	row := &bulk.Row{Row: number}
	o.Row = row
	fail := func(code, col, format string, args ...any) {
		row.Errors = append(row.Errors, bulk.Issue{Code: code, Column: col, Message: fmt.Sprintf(format, args...)})
	}
	if v.csv && v.width > 0 && ragged(cells, v.width) {
		fail(bulk.ErrRaggedRow, "", "row has %d cells but the header has %d columns: check for a missing or extra delimiter", len(cells), v.width)
		return v.conclude(o), false
	}

	cred := v.match(cells, row, fail)
	if cred == nil {
		if len(row.Errors) == 0 {
			fail(bulk.ErrNoMatch, "", "no credential matched")
		}
		return v.conclude(o), false
	}
	row.CredentialID = cred.ID
	o.Before = cred
	after := *cred
	after.Custom = maps.Clone(cred.Custom)

	for i, c := range v.columns {
		if i == v.keyCol {
			continue
		}
		var cell sheet.Cell
		if c.index < len(cells) {
			cell = cells[c.index]
		}
		text := bulk.UnescapeFormula(strings.TrimSpace(cell.Text))
		current := cred.Get(c.attr)
		if text == "" && cell.Kind != sheet.Date {
			v.blank(c, cred, &after, row, fail)
			continue
		}
		if n := utf8.RuneCountInString(text); n > bulk.MaxLen(c.attr) {
			fail(bulk.ErrValueTooLong, c.name, "%s has %d characters; the limit is %d", label(v, c), n, bulk.MaxLen(c.attr))
			continue
		}
		value := text
		switch c.kind {
		case bulk.KindDate:
			d, amb, msg := v.readDate(cell, text, final)
			if amb {
				return o, true
			}
			if msg != "" {
				fail(bulk.ErrInvalidDate, c.name, "%s", msg)
				continue
			}
			value = d
		case bulk.KindEmail:
			if !bulk.ValidEmail(text) {
				fail(bulk.ErrInvalidEmail, c.name, "%q is not a valid email address", text)
				continue
			}
			if bulk.NormalizeEmail(text) == bulk.NormalizeEmail(current) {
				continue
			}
		case bulk.KindNumber:
			f, ok := parseNumber(text, v.decimalComma)
			if !ok {
				fail(bulk.ErrInvalidNumber, c.name, "%q is not a number", text)
				continue
			}
			if old, err := strconv.ParseFloat(current, 64); err == nil && old == f {
				continue
			}
			value = strconv.FormatFloat(f, 'f', -1, 64)
		}
		switch c.attr {
		case bulk.AttrCredentialID:
			if value != cred.ID {
				fail(bulk.ErrNoMatch, c.name, "credential ID %s is not the credential this row matched by %s (%s)", value, v.report.MatchBy, cred.ID)
			}
			continue
		case bulk.AttrRecipientName:
			if value != current && cred.Recipient.NameCorrectedByRecipient {
				row.Warnings = append(row.Warnings, bulk.Issue{Code: bulk.WarnNameOverride, Column: c.name,
					Message: "the recipient corrected their name themselves; this row would overwrite their correction"})
			}
		case bulk.AttrEmail:
			row.Warnings = append(row.Warnings, bulk.Issue{Code: bulk.WarnEmailChange, Column: c.name,
				Message: "this row changes the recipient's email; they were contacted at the old address"})
		}
		if value != current {
			after.Set(c.attr, value)
			row.Changes = append(row.Changes, bulk.Change{Field: c.attr, From: current, To: value})
		}
	}

	if after.ExpiresOn != "" && after.IssuedOn != "" && after.ExpiresOn < after.IssuedOn &&
		(after.ExpiresOn != cred.ExpiresOn || after.IssuedOn != cred.IssuedOn) {
		fail(bulk.ErrExpiryBeforeIssue, v.columnName(bulk.AttrExpiresOn), "expiry date %s is before the issue date %s", after.ExpiresOn, after.IssuedOn)
	}
	today := dates.FromTime(v.in.Now).String()
	row.Renewal = cred.ExpiresOn != "" && cred.ExpiresOn < today && after.ExpiresOn > today
	o.After = &after
	return v.conclude(o), false
}

// parseNumber reads a number as people write it: "1234.75", "1,234.75",
// "1.234,75", and "12,5" where the decimal separator is a comma (a file
// delimited by semicolons, as European spreadsheets write them, or a comma
// not followed by groups of three digits).
func parseNumber(s string, decimalComma bool) (float64, bool) {
	dot, comma := strings.LastIndexByte(s, '.'), strings.LastIndexByte(s, ',')
	switch {
	case dot >= 0 && comma >= 0 && comma > dot:
		s = strings.ReplaceAll(strings.ReplaceAll(s, ".", ""), ",", ".")
	case dot >= 0 && comma >= 0:
		s = strings.ReplaceAll(s, ",", "")
	case comma >= 0 && (decimalComma || !thousands(s)):
		if strings.Count(s, ",") > 1 {
			return 0, false
		}
		s = strings.Replace(s, ",", ".", 1)
	case comma >= 0:
		s = strings.ReplaceAll(s, ",", "")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

// thousands reports whether the commas of s separate groups of three digits.
func thousands(s string) bool {
	parts := strings.Split(strings.TrimLeft(s, "+-"), ",")
	if len(parts[0]) == 0 || len(parts[0]) > 3 {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) != 3 {
			return false
		}
	}
	return true
}

// ragged reports whether a CSV row does not fit the header: fewer cells, or
// values beyond the last header column.
func ragged(cells []sheet.Cell, width int) bool {
	if len(cells) < width {
		return true
	}
	for _, c := range cells[width:] {
		if strings.TrimSpace(c.Text) != "" {
			return true
		}
	}
	return false
}

// conclude sets the row's outcome from what was found.
func (v *validation) conclude(o Outcome) Outcome {
	r := o.Row
	switch {
	case len(r.Errors) > 0:
		r.Outcome = bulk.OutcomeError
		r.Changes, r.Warnings, r.Notes, r.Renewal = nil, nil, nil, false
	case len(r.Changes) > 0:
		r.Outcome = bulk.OutcomeUpdate
	default:
		r.Outcome = bulk.OutcomeUnchanged
		r.Warnings, r.Renewal = nil, false
	}
	return o
}

// match finds the row's credential in the group by the match key, or says
// why there is none.
func (v *validation) match(cells []sheet.Cell, row *bulk.Row, fail func(code, col, format string, args ...any)) *bulk.Credential {
	key := v.report.MatchBy
	if v.keyCol < 0 {
		fail(bulk.ErrMissingKey, "", "no column is mapped to a match key: map a column to credential ID, recipient ID or recipient email")
		return nil
	}
	c := v.columns[v.keyCol]
	var text string
	if c.index < len(cells) {
		text = bulk.UnescapeFormula(strings.TrimSpace(cells[c.index].Text))
	}
	if text == "" {
		fail(bulk.ErrMissingKey, c.name, "%s is blank, so the row cannot be matched to a credential", label(v, c))
		return nil
	}
	k := matchValue(key, text)
	found := v.byKey[k]
	switch {
	case len(found) == 1:
		return found[0]
	case len(found) > 1:
		fail(bulk.ErrAmbiguousMatch, c.name, "%d credentials in this group have this %s; match by credential ID to choose one", len(found), strings.ToLower(label(v, c)))
		return nil
	}
	if other := v.otherGroup(key, k); other != "" {
		fail(bulk.ErrOtherGroup, c.name, "this %s belongs to a credential of group %s, not of this group", strings.ToLower(label(v, c)), other)
		return nil
	}
	fail(bulk.ErrNoMatch, c.name, "no credential in this group has this %s", strings.ToLower(label(v, c)))
	return nil
}

// otherGroup returns the group of another group's credential with this key,
// or "".
func (v *validation) otherGroup(attr, value string) string {
	if cs := v.elsewhere[value]; len(cs) > 0 {
		return cs[0].GroupID
	}
	if v.in.Elsewhere == nil || !contains(matchKeys, attr) {
		return ""
	}
	cs, err := v.in.Elsewhere.FindCredentials(v.ctx, attr, value)
	if err != nil {
		// A failed look-up only loses the finer error code; the row is
		// still not matched.
		return ""
	}
	for _, c := range cs {
		if c.GroupID != v.in.Group.ID {
			return c.GroupID
		}
	}
	return ""
}

// blank applies a blank cell: it clears the field (a warning), except expiry
// date and grade, which stay as they are (a note), and required fields,
// which cannot be cleared.
func (v *validation) blank(c column, cred, after *bulk.Credential, row *bulk.Row, fail func(code, col, format string, args ...any)) {
	current := cred.Get(c.attr)
	switch c.attr {
	case bulk.AttrCredentialID:
		return
	case bulk.AttrExpiresOn, bulk.AttrGrade:
		if current != "" {
			row.Notes = append(row.Notes, bulk.Issue{Code: bulk.NoteBlankKept, Column: c.name,
				Message: fmt.Sprintf("blank %s leaves the stored value %s as it is", strings.ToLower(label(v, c)), current)})
		}
		return
	case bulk.AttrRecipientName, bulk.AttrEmail, bulk.AttrIssuedOn:
		fail(bulk.ErrRequired, c.name, "%s cannot be blank", label(v, c))
		return
	}
	if current == "" {
		return
	}
	after.Set(c.attr, "")
	row.Changes = append(row.Changes, bulk.Change{Field: c.attr, From: current, To: ""})
	row.Warnings = append(row.Warnings, bulk.Issue{Code: bulk.WarnClearsValue, Column: c.name,
		Message: fmt.Sprintf("the blank cell clears %s (was %q)", strings.ToLower(label(v, c)), current)})
}

// readDate reads a date cell. msg explains a value that is not a date;
// ambiguous asks for the row to be decided at the end.
func (v *validation) readDate(cell sheet.Cell, text string, final bool) (iso string, ambiguous bool, msg string) {
	switch {
	case cell.Kind == sheet.Date || cell.Kind == sheet.Number && !cell.Time.IsZero():
		return dates.FromTime(cell.Time).String(), false, ""
	case cell.Kind == sheet.Number:
		d, err := dates.FromSerial(cell.Num, v.date1904)
		if err != nil {
			return "", false, fmt.Sprintf("%s is not a date: %v", text, err)
		}
		return d.String(), false, ""
	}
	if serial, ok := dates.SerialLike(text); ok {
		d, err := dates.FromSerial(serial, v.date1904)
		if err != nil {
			return "", false, fmt.Sprintf("%s is not a date: %v", text, err)
		}
		return d.String(), false, ""
	}
	if v.format != "" {
		d, err := dates.Parse(text, v.format)
		if err != nil {
			return "", false, err.Error()
		}
		return d.String(), false, ""
	}
	fit := dates.Fit(text)
	if fit == 0 {
		return "", false, fmt.Sprintf("%q is not a date in any supported format (%s)", text, strings.Join(dates.Formats, ", "))
	}
	set := v.formats
	if set == 0 {
		// The file's dates fit no one format: each value stands alone.
		set = fit
	}
	d, readings, err := dates.Resolve(text, set)
	if err != nil {
		return "", false, err.Error()
	}
	if len(readings) > 1 {
		if !final {
			return "", true, ""
		}
		return "", false, ambiguity(text, set)
	}
	return d.String(), false, ""
}

// ambiguity explains a date the candidate formats read differently.
func ambiguity(text string, set dates.Set) string {
	var parts []string
	for _, f := range set.Formats() {
		if d, err := dates.Parse(text, f); err == nil {
			parts = append(parts, fmt.Sprintf("%s under %s", d, f))
		}
	}
	return fmt.Sprintf("%q reads as %s; choose the date format of this file", text, strings.Join(parts, " but as "))
}

// label names a column's attribute for messages.
func label(v *validation, c column) string {
	return v.in.Group.Label(c.attr)
}

func (v *validation) columnName(attr string) string {
	if i := v.columnOf(attr); i >= 0 {
		return v.columns[i].name
	}
	return ""
}
