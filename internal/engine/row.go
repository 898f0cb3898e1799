package engine

import (
	"fmt"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/sheet"
)

// evaluate works out into row what one row of the sheet would do, and
// returns the position in Input.Credentials of the credential it matched
// (-1 for none). With final false, a row holding a date that the formats
// still in play read differently is not decided: ambiguous is true and the
// row is evaluated again at the end.
//
// It reads nothing of the validation that changes while rows stream by
// (what it needs of the rows before is in st), so rows can be evaluated
// in parallel, each goroutine with its own worker m.
func (v *validation) evaluate(row *bulk.Row, number int, cells []sheet.Cell, st *rowState, m *worker, final bool) (pos int, ambiguous bool) {
	// The changes are gathered in the worker's scratch, and copied out
	// once the row is worked out.
	*row = bulk.Row{Row: number, Changes: m.changes[:0]}
	pos, ambiguous = v.work(row, cells, st, m, final)
	if cap(row.Changes) > 0 {
		m.changes = row.Changes[:0]
	}
	switch {
	case len(row.Changes) == 0:
		row.Changes = nil
	case !ambiguous:
		row.Changes = m.keep(row.Changes)
	}
	return pos, ambiguous
}

// work is evaluate's, into a row with its number set.
func (v *validation) work(row *bulk.Row, cells []sheet.Cell, st *rowState, m *worker, final bool) (pos int, ambiguous bool) {
	if v.csv && v.width > 0 && ragged(cells, v.width) {
		fail(row, bulk.ErrRaggedRow, "", "row has %d cells but the header has %d columns: check for a missing or extra delimiter", len(cells), v.width)
		conclude(row)
		return -1, false
	}

	pos = v.match(cells, row, m)
	if pos < 0 {
		if len(row.Errors) == 0 {
			fail(row, bulk.ErrNoMatch, "", "no credential matched")
		}
		conclude(row)
		return -1, false
	}
	cred := &v.in.Credentials[pos]
	row.CredentialID = cred.ID

	for i := range v.columns {
		if i == v.keyCol {
			continue
		}
		c := &v.columns[i]
		cell := &noCell
		if c.index < len(cells) {
			cell = &cells[c.index]
		}
		text := bulk.UnescapeFormula(trim(cell.Text))
		current := c.get.get(cred)
		if text == "" && cell.Kind != sheet.Date {
			v.blank(c, cred, row)
			continue
		}
		// A text has at least as many bytes as characters: most are
		// short enough not to need counting.
		if len(text) > c.maxLen {
			if n := utf8.RuneCountInString(text); n > c.maxLen {
				fail(row, bulk.ErrValueTooLong, c.name, "%s has %d characters; the limit is %d", label(v, c), n, c.maxLen)
				continue
			}
		}
		value := text
		switch c.kind {
		case bulk.KindDate:
			d, amb, msg := v.readDate(st, i, cell, text, final)
			if amb {
				return pos, true
			}
			if msg != "" {
				fail(row, bulk.ErrInvalidDate, c.name, "%s", msg)
				continue
			}
			// Most dates are what the credential holds already: compare
			// before making a string of them.
			var buf [10]byte
			b, ok := appendISO(buf[:0], d)
			if ok && string(b) == current {
				continue
			}
			value = d.String()
		case bulk.KindEmail:
			if !bulk.ValidEmail(text) {
				fail(row, bulk.ErrInvalidEmail, c.name, "%q is not a valid email address", text)
				continue
			}
			if bulk.NormalizeEmail(text) == bulk.NormalizeEmail(current) {
				continue
			}
		case bulk.KindNumber:
			if text == current && plainNumber(text) {
				continue // the number the credential holds, written as it is
			}
			if wholeNumber(text) && wholeNumber(current) {
				break // two whole numbers as FormatFloat writes them: they differ
			}
			f, ok := parseNumber(text, v.decimalComma)
			if !ok {
				fail(row, bulk.ErrInvalidNumber, c.name, "%q is not a number", text)
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
				fail(row, bulk.ErrNoMatch, c.name, "credential ID %s is not the credential this row matched by %s (%s)", value, v.matchBy, cred.ID)
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
			row.Changes = append(row.Changes, bulk.Change{Field: c.attr, From: current, To: value})
		}
	}

	// Every field the row sets is one of its changes: the dates after it
	// are the credential's with the changes laid over them.
	issued, expires := cred.IssuedOn, cred.ExpiresOn
	for _, ch := range row.Changes {
		switch ch.Field {
		case bulk.AttrIssuedOn:
			issued = ch.To
		case bulk.AttrExpiresOn:
			expires = ch.To
		}
	}
	if expires != "" && issued != "" && expires < issued && (expires != cred.ExpiresOn || issued != cred.IssuedOn) {
		fail(row, bulk.ErrExpiryBeforeIssue, v.columnName(bulk.AttrExpiresOn), "expiry date %s is before the issue date %s", expires, issued)
	}
	row.Renewal = cred.ExpiresOn != "" && cred.ExpiresOn < v.today && expires > v.today
	conclude(row)
	return pos, false
}

// applyChanges returns the credential as the changes leave it. It shares
// the custom attributes with the credential unless a change touches them,
// which most rows do not: After is read, never written.
func applyChanges(cred *bulk.Credential, changes []bulk.Change) *bulk.Credential {
	after := *cred
	cloned := false
	for _, ch := range changes {
		if !cloned && strings.HasPrefix(ch.Field, bulk.CustomPrefix) {
			after.Custom = maps.Clone(cred.Custom)
			cloned = true
		}
		after.Set(ch.Field, ch.To)
	}
	return &after
}

// noCell stands for the cells a short row lacks.
var noCell sheet.Cell

// fail adds an error to the row.
func fail(row *bulk.Row, code, col, format string, args ...any) {
	row.Errors = append(row.Errors, bulk.Issue{Code: code, Column: col, Message: fmt.Sprintf(format, args...)})
}

// appendISO appends d as ISO YYYY-MM-DD, as d.String() writes it; ok is
// false for a year beyond four digits, which String writes otherwise.
func appendISO(b []byte, d dates.Date) ([]byte, bool) {
	if d.Year < 0 || d.Year > 9999 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return b, false
	}
	return append(b,
		byte('0'+d.Year/1000), byte('0'+d.Year/100%10), byte('0'+d.Year/10%10), byte('0'+d.Year%10), '-',
		byte('0'+d.Month/10), byte('0'+d.Month%10), '-',
		byte('0'+d.Day/10), byte('0'+d.Day%10)), true
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

// plainNumber reports whether s is a short run of digits with at most one
// point, which parseNumber and strconv.ParseFloat read alike and always
// read.
func plainNumber(s string) bool {
	if s == "" || len(s) > 15 {
		return false
	}
	point := false
	digits := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' && !point:
			point = true
		default:
			return false
		}
	}
	return digits
}

// wholeNumber reports whether s is a whole number of up to 15 digits as
// strconv.FormatFloat writes it, so FormatFloat(ParseFloat(s)) is s: no
// sign, no leading zero, no point.
func wholeNumber(s string) bool {
	if s == "" || len(s) > 15 || s[0] == '0' && len(s) > 1 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
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

// trim is strings.TrimSpace, which most values need not go through: one
// that starts and ends with ASCII other than space or control is returned
// as it is.
func trim(s string) string {
	if n := len(s); n == 0 || s[0] > ' ' && s[0] < utf8.RuneSelf && s[n-1] > ' ' && s[n-1] < utf8.RuneSelf {
		return s
	}
	return strings.TrimSpace(s)
}

// ragged reports whether a CSV row does not fit the header: fewer cells, or
// values beyond the last header column.
func ragged(cells []sheet.Cell, width int) bool {
	if len(cells) < width {
		return true
	}
	for _, c := range cells[width:] {
		if trim(c.Text) != "" {
			return true
		}
	}
	return false
}

// conclude sets the row's outcome from what was found.
func conclude(r *bulk.Row) {
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
}

// match finds the row's credential in the group by the match key and
// returns its position in Input.Credentials, or says why there is none
// and returns -1.
func (v *validation) match(cells []sheet.Cell, row *bulk.Row, m *worker) int {
	key := v.matchBy
	if v.keyCol < 0 {
		fail(row, bulk.ErrMissingKey, "", "no column is mapped to a match key: map a column to credential ID, recipient ID or recipient email")
		return -1
	}
	c := &v.columns[v.keyCol]
	var text string
	if c.index < len(cells) {
		text = bulk.UnescapeFormula(trim(cells[c.index].Text))
	}
	if text == "" {
		fail(row, bulk.ErrMissingKey, c.name, "%s is blank, so the row cannot be matched to a credential", label(v, c))
		return -1
	}
	// The key is built in a buffer, so a look-up makes no string. Emails
	// are case-folded: an ASCII one in the buffer, any other as
	// bulk.NormalizeEmail does.
	b, ok := m.key[:0], true
	if key == bulk.AttrEmail {
		b, ok = appendEmailKey(b, text)
		if !ok {
			b = append(b[:0], bulk.NormalizeEmail(text)...)
		}
	} else {
		b = append(b, trim(text)...)
	}
	m.key = b
	// Sheets often list credentials in the order the group holds them (a
	// template pre-filled from the group comes back so): the credential
	// after the last one matched is tried before the map.
	pos, n := m.next, 1
	if !v.byKey.is(pos, b) {
		pos, n = v.byKey.lookupBytes(b)
	}
	if n == 1 {
		m.next = pos + 1
	}
	switch {
	case n == 1:
		return pos
	case n > 1:
		fail(row, bulk.ErrAmbiguousMatch, c.name, "%d credentials in this group have this %s; match by credential ID to choose one", n, strings.ToLower(label(v, c)))
		return -1
	}
	k := string(b)
	if other := v.otherGroup(key, k); other != "" {
		fail(row, bulk.ErrOtherGroup, c.name, "this %s belongs to a credential of group %s, not of this group", strings.ToLower(label(v, c)), other)
		return -1
	}
	fail(row, bulk.ErrNoMatch, c.name, "no credential in this group has this %s", strings.ToLower(label(v, c)))
	return -1
}

// otherGroup returns the group of another group's credential with this key,
// or "".
func (v *validation) otherGroup(attr, value string) string {
	if p, ok := v.byKey.other[value]; ok {
		return v.in.Credentials[p].GroupID
	}
	if v.in.Elsewhere == nil || !contains(matchKeys, attr) {
		return ""
	}
	v.elsewhere.Lock()
	cs, err := v.in.Elsewhere.FindCredentials(v.ctx, attr, value)
	v.elsewhere.Unlock()
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
func (v *validation) blank(c *column, cred *bulk.Credential, row *bulk.Row) {
	current := c.get.get(cred)
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
		fail(row, bulk.ErrRequired, c.name, "%s cannot be blank", label(v, c))
		return
	}
	if current == "" {
		return
	}
	row.Changes = append(row.Changes, bulk.Change{Field: c.attr, From: current, To: ""})
	row.Warnings = append(row.Warnings, bulk.Issue{Code: bulk.WarnClearsValue, Column: c.name,
		Message: fmt.Sprintf("the blank cell clears %s (was %q)", strings.ToLower(label(v, c)), current)})
}

// readDate reads the date cell of column i. msg explains a value that is
// not a date; ambiguous asks for the row to be decided at the end.
func (v *validation) readDate(st *rowState, i int, cell *sheet.Cell, text string, final bool) (d dates.Date, ambiguous bool, msg string) {
	// readDates read the cell's text already when it is no serial.
	f := &st.fits[v.dateOrd[i]]
	cached := f.text != "" && f.text == text
	switch {
	case cell.Kind == sheet.Date:
		d, ok := cell.Day()
		if !ok {
			// A date cell with no day (no reader makes one) reads as the
			// zero time's.
			d = dates.FromTime(time.Time{})
		}
		return d, false, ""
	case cell.Kind == sheet.Number:
		if d, ok := cell.Day(); ok {
			return d, false, ""
		}
		d, err := dates.FromSerial(cell.Num, v.date1904)
		if err != nil {
			return d, false, fmt.Sprintf("%s is not a date: %v", text, err)
		}
		return d, false, ""
	}
	if !cached {
		if serial, ok := dates.SerialLike(text); ok {
			d, err := dates.FromSerial(serial, v.date1904)
			if err != nil {
				return d, false, fmt.Sprintf("%s is not a date: %v", text, err)
			}
			return d, false, ""
		}
	}
	if v.format != "" {
		d, err := dates.Parse(text, v.format)
		if err != nil {
			return d, false, err.Error()
		}
		return d, false, ""
	}
	var fit dates.Set
	if cached {
		switch {
		case !f.only:
			fit = f.fit
		case f.fit == st.formats:
			return f.day, false, ""
		default:
			// Another column of the row moved the evidence after this
			// cell was read under the one format: all of its fit counts.
			fit = dates.Fit(text)
		}
	} else {
		fit = dates.Fit(text)
	}
	if fit == 0 {
		return d, false, fmt.Sprintf("%q is not a date in any supported format (%s)", text, strings.Join(dates.Formats, ", "))
	}
	set := st.formats
	if set == 0 {
		// The file's dates fit no one format: each value stands alone.
		set = fit
	}
	d, readings, err := dates.Resolve(text, set)
	if err != nil {
		return d, false, err.Error()
	}
	if len(readings) > 1 {
		if !final {
			return d, true, ""
		}
		return d, false, ambiguity(text, set)
	}
	return d, false, ""
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
func label(v *validation, c *column) string {
	return v.in.Group.Label(c.attr)
}

func (v *validation) columnName(attr string) string {
	if i := v.columnOf(attr); i >= 0 {
		return v.columns[i].name
	}
	return ""
}
