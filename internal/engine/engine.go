// Package engine turns one spreadsheet and a group's credentials into the
// report of a bulk update: it finds the header, maps columns to attributes,
// reads every row once as a stream, matches it to a credential of the group,
// and works out its changes, errors, warnings and renewals.
//
// Memory grows with the group's credentials, not with the sheet: rows are
// handed to the caller as soon as their outcome is final. Two kinds of row
// are held until the end: rows that matched a credential (a later row may
// target the same credential, making both errors — at most one held row per
// credential), and rows with a date that reads differently under the date
// formats still consistent with the file (decided once the whole column has
// been seen).
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/mapping"
	"github.com/credup/credup/internal/sheet"
)

// headerScanRows is how many leading rows are searched for the header.
const headerScanRows = 20

// Rows is a stream of sheet rows: a sheet.Reader.
type Rows interface {
	Info() sheet.Info
	Next() (sheet.Row, error)
}

// Finder looks up credentials outside the group being updated, so a row
// about another group's credential is reported as such rather than as no
// match. attr is credential.id, recipient.id or recipient.email.
type Finder interface {
	FindCredentials(ctx context.Context, attr, value string) ([]bulk.Credential, error)
}

// Input is everything a validation needs besides the sheet.
type Input struct {
	Group bulk.Group
	// Credentials the rows may match. Those of Group are the candidates;
	// those of other groups only turn a miss into other_group.
	Credentials []bulk.Credential
	// Elsewhere, when set, is asked about keys no credential above has.
	Elsewhere Finder
	Mapping   bulk.Mapping
	// Learned maps normalized headers to the attribute this tenant chose.
	Learned map[string]string
	// Now decides which credentials have expired (renewals).
	Now time.Time
}

// Outcome is one final row with the credential it concerns: Before is the
// stored credential (nil when the row matched none) and After what the row
// would make of it (nil unless the outcome is update).
type Outcome struct {
	Row    *bulk.Row
	Before *bulk.Credential
	After  *bulk.Credential
}

// Check validates the sheet and returns the whole report, rows included, in
// sheet order.
func Check(ctx context.Context, src Rows, in Input) (*bulk.Report, error) {
	var rows []bulk.Row
	rep, err := Run(ctx, src, in, func(o Outcome) error {
		rows = append(rows, *o.Row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Row < rows[j].Row })
	rep.Rows = rows
	if rep.Rows == nil {
		rep.Rows = []bulk.Row{}
	}
	return rep, nil
}

// Run validates the sheet, handing each row to emit once its outcome is
// final (not in sheet order), and returns the report without rows. An
// error is returned for a sheet that cannot be read or a mapping that does
// not fit the sheet; problems with rows are row outcomes.
func Run(ctx context.Context, src Rows, in Input, emit func(Outcome) error) (*bulk.Report, error) {
	v, err := newValidation(ctx, src, in, emit)
	if err != nil {
		return nil, err
	}
	if err := v.run(); err != nil {
		return nil, err
	}
	return v.report, nil
}

type column struct {
	index int
	name  string // how the report and messages name it
	attr  string
	kind  string
}

type validation struct {
	ctx    context.Context
	src    Rows
	in     Input
	emit   func(Outcome) error
	report *bulk.Report

	header   []string
	width    int
	columns  []column // mapped columns, in sheet order
	keyCol   int      // index into columns of the match key, -1 if none
	format   string   // user-chosen date format, "" = infer
	formats  dates.Set
	sawDates bool
	date1904 bool
	csv      bool
	// decimalComma: a file delimited by semicolons writes 12,5 for 12.5.
	decimalComma bool
	byKey        map[string][]*bulk.Credential // the group's credentials by match key
	elsewhere    map[string][]*bulk.Credential // other groups' credentials by match key
	held         map[string]*heldRow           // matched rows by credential ID
	pending      []*pendingRow                 // rows with a date read differently by candidate formats
	fp           fingerprint
}

type heldRow struct {
	row        *bulk.Row
	cred       *bulk.Credential
	after      *bulk.Credential
	duplicates []int // other rows targeting the same credential
}

type pendingRow struct {
	number int
	cells  []sheet.Cell
}

func newValidation(ctx context.Context, src Rows, in Input, emit func(Outcome) error) (*validation, error) {
	info := src.Info()
	v := &validation{
		ctx:          ctx,
		src:          src,
		in:           in,
		emit:         emit,
		formats:      dates.All(),
		date1904:     info.Date1904,
		csv:          info.Format == "csv",
		decimalComma: info.Format == "csv" && info.Delimiter == ";",
		held:         map[string]*heldRow{},
		report: &bulk.Report{
			Format:               info.Format,
			Encoding:             info.Encoding,
			Sheet:                info.Sheet,
			DateFormatCandidates: []string{},
			Columns:              []bulk.Column{},
		},
	}
	if in.Mapping.DateFormat != "" {
		if !dates.Valid(in.Mapping.DateFormat) {
			return nil, bulk.Errorf(bulk.EInvalid, "unknown date format %q; choose one of %s", in.Mapping.DateFormat, strings.Join(dates.Formats, ", "))
		}
		v.format = in.Mapping.DateFormat
	}
	return v, nil
}

func (v *validation) run() error {
	// The header is searched among the first rows; they are kept to be
	// validated as data once it is found.
	var first []sheet.Row
	for len(first) < headerScanRows {
		r, err := v.src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read sheet: %w", err)
		}
		// The reader may reuse the row's cells for the next row.
		r.Cells = append([]sheet.Cell(nil), r.Cells...)
		first = append(first, r)
	}
	if len(first) == 0 {
		return bulk.Errorf(bulk.EInvalid, "the sheet is empty: it needs a header row and at least one row of data")
	}
	texts := make([][]string, len(first))
	for i, r := range first {
		texts[i] = cellTexts(r.Cells)
	}
	h := mapping.FindHeader(texts, v.in.Group, v.in.Learned)
	if err := v.setHeader(first[h]); err != nil {
		return err
	}
	if err := v.indexCredentials(); err != nil {
		return err
	}
	for _, r := range first[h+1:] {
		if err := v.row(r); err != nil {
			return err
		}
	}
	for {
		if err := v.ctx.Err(); err != nil {
			return err
		}
		r, err := v.src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read sheet: %w", err)
		}
		if err := v.row(r); err != nil {
			return err
		}
	}
	return v.finish()
}

func cellTexts(cells []sheet.Cell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = strings.TrimSpace(c.Text)
	}
	return out
}

// setHeader maps the header row's columns and settles the match key.
func (v *validation) setHeader(r sheet.Row) error {
	v.header = cellTexts(r.Cells)
	for len(v.header) > 0 && v.header[len(v.header)-1] == "" {
		v.header = v.header[:len(v.header)-1]
	}
	v.width = len(v.header)
	v.report.HeaderRow = r.Number
	cols := mapping.Suggest(v.header, v.in.Group, v.in.Learned)
	cols, err := mapping.Apply(cols, v.in.Group, v.in.Mapping)
	if err != nil {
		return err
	}
	v.report.Columns = cols
	for i, c := range cols {
		if c.Attribute == "" || c.Attribute == bulk.Skip || c.How == bulk.HowUnmapped || c.How == bulk.HowSkip {
			continue
		}
		kind, ok := v.in.Group.Kind(c.Attribute)
		if !ok {
			return bulk.Errorf(bulk.EInvalid, "column %s is mapped to %q, which is not an attribute of group %s", mapping.ColumnName(cols, i), c.Attribute, v.in.Group.ID)
		}
		v.columns = append(v.columns, column{index: c.Index, name: mapping.ColumnName(cols, i), attr: c.Attribute, kind: kind})
	}
	return v.setMatchKey()
}

// matchKeys are the attributes a row can be matched by, in the order the
// default is chosen; custom attributes of kind text may be chosen too.
var matchKeys = []string{bulk.AttrCredentialID, bulk.AttrRecipientID, bulk.AttrEmail}

func (v *validation) setMatchKey() error {
	key := v.in.Mapping.MatchBy
	if key != "" {
		kind, ok := v.in.Group.Kind(key)
		custom := strings.HasPrefix(key, bulk.CustomPrefix)
		if !ok || !(custom && (kind == bulk.KindText || kind == bulk.KindEmail || kind == bulk.KindNumber) || contains(matchKeys, key)) {
			return bulk.Errorf(bulk.EInvalid, "cannot match rows by %q: choose credential.id, recipient.id, recipient.email or a custom ID attribute", key)
		}
	} else {
		for _, k := range matchKeys {
			if v.columnOf(k) >= 0 {
				key = k
				break
			}
		}
	}
	v.report.MatchBy = key
	v.keyCol = -1
	if key != "" {
		v.keyCol = v.columnOf(key)
	}
	return nil
}

func (v *validation) columnOf(attr string) int {
	for i, c := range v.columns {
		if c.attr == attr {
			return i
		}
	}
	return -1
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// matchValue is how a key value is compared.
func matchValue(attr, s string) string {
	if attr == bulk.AttrEmail {
		return bulk.NormalizeEmail(s)
	}
	return strings.TrimSpace(s)
}

func (v *validation) indexCredentials() error {
	key := v.report.MatchBy
	v.byKey = map[string][]*bulk.Credential{}
	v.elsewhere = map[string][]*bulk.Credential{}
	if key == "" {
		return nil
	}
	for i := range v.in.Credentials {
		c := &v.in.Credentials[i]
		k := matchValue(key, c.Get(key))
		if k == "" {
			continue
		}
		if c.GroupID == v.in.Group.ID {
			v.byKey[k] = append(v.byKey[k], c)
		} else {
			v.elsewhere[k] = append(v.elsewhere[k], c)
		}
	}
	return nil
}

// row reads one data row: it updates the date-format evidence, then either
// decides the row or holds it until the end.
func (v *validation) row(r sheet.Row) error {
	v.report.DataRows++
	v.observeDates(r.Cells)
	o, ambiguous := v.evaluate(r.Number, r.Cells, false)
	if ambiguous {
		// The reader may reuse the row's cells for the next row.
		v.pending = append(v.pending, &pendingRow{number: r.Number, cells: append([]sheet.Cell(nil), r.Cells...)})
		return nil
	}
	return v.settle(o)
}

// observeDates narrows the date formats consistent with every date written
// as text so far. A value no format can read is an error of its row and
// says nothing about the format.
func (v *validation) observeDates(cells []sheet.Cell) {
	for _, c := range v.columns {
		if c.kind != bulk.KindDate || c.index >= len(cells) {
			continue
		}
		cell := cells[c.index]
		if cell.Kind == sheet.Date || cell.Kind == sheet.Number {
			continue
		}
		text := strings.TrimSpace(cell.Text)
		if text == "" {
			continue
		}
		if _, ok := dates.SerialLike(text); ok {
			continue
		}
		if fit := dates.Fit(text); fit != 0 {
			v.formats &= fit
			v.sawDates = true
		}
	}
}

// settle emits a final row, or holds a matched one until the end, when a
// later row may turn out to target the same credential.
func (v *validation) settle(o Outcome) error {
	if o.Before == nil {
		return v.send(o)
	}
	id := o.Before.ID
	if h, ok := v.held[id]; ok {
		h.duplicates = append(h.duplicates, o.Row.Row)
		dup := &heldRow{row: o.Row, cred: o.Before}
		dup.duplicates = []int{h.row.Row}
		markDuplicate(dup)
		return v.send(Outcome{Row: dup.row, Before: o.Before})
	}
	v.held[id] = &heldRow{row: o.Row, cred: o.Before, after: o.After}
	return nil
}

func markDuplicate(h *heldRow) {
	others := make([]string, len(h.duplicates))
	for i, n := range h.duplicates {
		others[i] = fmt.Sprint(n)
	}
	which := "row " + others[0] + " also targets"
	if len(others) > 1 {
		which = "rows " + strings.Join(others, ", ") + " also target"
	}
	h.row.Errors = append(h.row.Errors, bulk.Issue{
		Code:    bulk.ErrDuplicateTarget,
		Message: fmt.Sprintf("%s credential %s; one credential can be updated by one row only", which, h.cred.ID),
	})
	h.row.Outcome = bulk.OutcomeError
	h.row.Changes, h.row.Warnings, h.row.Renewal = nil, nil, false
}

func (v *validation) send(o Outcome) error {
	v.report.Summary.Add(o.Row)
	v.fp.add(o.Row)
	if o.Row.Outcome != bulk.OutcomeUpdate {
		o.After = nil
	}
	return v.emit(o)
}

// finish decides the rows held back and completes the report.
func (v *validation) finish() error {
	for _, p := range v.pending {
		o, _ := v.evaluate(p.number, p.cells, true)
		if err := v.settle(o); err != nil {
			return err
		}
	}
	v.pending = nil
	ids := make([]string, 0, len(v.held))
	for id := range v.held {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		h := v.held[id]
		if len(h.duplicates) > 0 {
			markDuplicate(h)
		}
		if err := v.send(Outcome{Row: h.row, Before: h.cred, After: h.after}); err != nil {
			return err
		}
	}
	v.held = nil
	rep := v.report
	rep.DateFormat = v.format
	if v.sawDates {
		rep.DateFormatCandidates = v.formats.Formats()
		if rep.DateFormat == "" && len(rep.DateFormatCandidates) == 1 {
			rep.DateFormat = rep.DateFormatCandidates[0]
		}
	}
	rep.Fingerprint = v.fp.sum(rep)
	return nil
}
