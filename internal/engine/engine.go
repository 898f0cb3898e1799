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
//
// Speed: the sheet is read on a goroutine of its own, a few hundred rows
// ahead of the validation; credentials are indexed by the match key once,
// and the credential after the last one matched is tried before the index,
// since sheets often list credentials in the group's own order. See
// docs/performance.md for what a validation costs.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/mapping"
	"github.com/credup/credup/internal/sheet"
)

// headerScanRows is how many leading rows are searched for the header.
const headerScanRows = 20

// Rows is a stream of sheet rows: a sheet.Reader. Run reads it ahead of the
// validation on a goroutine of its own, so the cells of a row must stay the
// caller's once returned (as sheet.Reader promises); Run is done with it
// when it returns.
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
	// those of other groups only turn a miss into other_group. They are
	// read, never written.
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
// stored credential (nil when the row matched none; it points into
// Input.Credentials) and After what the row would make of it (nil unless
// the outcome is update). Both are to be read only: After shares what the
// row leaves as it is with Before (the custom attributes, unless the row
// changes one of them). The row is the caller's to keep.
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
	slices.SortFunc(rows, func(a, b bulk.Row) int { return a.Row - b.Row })
	rep.Rows = rows
	if rep.Rows == nil {
		rep.Rows = []bulk.Row{}
	}
	return rep, nil
}

// Run validates the sheet, handing each row to emit once its outcome is
// final, and returns the report without rows. An error is returned for a
// sheet that cannot be read or a mapping that does not fit the sheet;
// problems with rows are row outcomes.
//
// Rows are handed over in two runs, each in sheet order: first the rows
// decided as the sheet streams by, then, once it has been read, the rows
// held back. A caller can put them in sheet order by merging the two.
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
	index  int
	name   string // how the report and messages name it
	attr   string
	kind   string
	get    accessor
	maxLen int // bulk.MaxLen(attr)
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
	dateCols []int    // indexes into columns of those holding dates
	keyCol   int      // index into columns of the match key, -1 if none
	format   string   // user-chosen date format, "" = infer
	formats  dates.Set
	single   bool // formats holds one format
	sawDates bool
	date1904 bool
	csv      bool
	// decimalComma: a file delimited by semicolons writes 12,5 for 12.5.
	decimalComma bool
	today        string // ISO day of Input.Now
	byKey        *index
	keyBuf       []byte
	next         int // position of the credential after the last one matched
	// held are the matched rows waiting for the end, in the order they
	// were held; heldAt maps a credential's slot to 1 + its entry there.
	held    heldRows
	heldAt  []int32
	pending []*pendingRow // rows with a date read differently by candidate formats
	late    []Outcome     // rows of pending final at the end, to merge with the held ones
	// fits are the date formats each column's cell of the row being read
	// fits, as observeDates found them, so evaluate need not work them out
	// again.
	fits    []cellFit
	fp      fingerprint
	scratch bulk.Row // the row being evaluated
}

// heldRow is a matched row waiting for the end, kept small: a group's
// worth of them is most of what a validation holds. Its credential and
// outcome are positions and codes, and what few rows carry besides changes
// is kept apart. What the row would make of the credential is worked out
// when it is handed over.
type heldRow struct {
	number  int
	pos     int32 // of the credential in Input.Credentials
	outcome uint8 // index into outcomes
	renewal bool
	changes []bulk.Change
	more    *heldMore
}

type heldMore struct {
	warnings, errors, notes []bulk.Issue
	duplicates              []int // other rows targeting the same credential
}

// outcomes are the outcomes a held row can have, by heldRow.outcome.
var outcomes = [...]string{bulk.OutcomeUpdate, bulk.OutcomeUnchanged, bulk.OutcomeError}

func hold(r *bulk.Row, pos int) heldRow {
	h := heldRow{number: r.Row, pos: int32(pos), renewal: r.Renewal, changes: r.Changes}
	for i, o := range outcomes {
		if o == r.Outcome {
			h.outcome = uint8(i)
		}
	}
	if r.Warnings != nil || r.Errors != nil || r.Notes != nil {
		h.more = &heldMore{warnings: r.Warnings, errors: r.Errors, notes: r.Notes}
	}
	return h
}

// row gives the held row back as the row it was.
func (h *heldRow) row(cred *bulk.Credential) *bulk.Row {
	r := &bulk.Row{Row: h.number, CredentialID: cred.ID, Outcome: outcomes[h.outcome], Changes: h.changes, Renewal: h.renewal}
	if h.more != nil {
		r.Warnings, r.Errors, r.Notes = h.more.warnings, h.more.errors, h.more.notes
	}
	return r
}

func (h *heldRow) duplicates() []int {
	if h.more == nil {
		return nil
	}
	return h.more.duplicates
}

func (h *heldRow) addDuplicate(n int) {
	if h.more == nil {
		h.more = &heldMore{}
	}
	h.more.duplicates = append(h.more.duplicates, n)
}

// heldRows is a list of held rows in blocks, so it grows without copying
// what it holds.
type heldRows struct {
	blocks [][]heldRow
	n      int
}

const heldBlock = 1024

// add appends h and returns its 1-based number.
func (l *heldRows) add(h heldRow) int {
	if l.n%heldBlock == 0 {
		l.blocks = append(l.blocks, make([]heldRow, 0, heldBlock))
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, h)
	l.n++
	return l.n
}

// at returns the held row numbered n (1-based).
func (l *heldRows) at(n int) *heldRow {
	return &l.blocks[(n-1)/heldBlock][(n-1)%heldBlock]
}

type cellFit struct {
	text string // the trimmed text the formats were found for; "" = none
	fit  dates.Set
	// With one format left in play, only it is tried: fit is then that
	// format, and date what it reads.
	date dates.Date
	only bool
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
		today:        dates.FromTime(in.Now).String(),
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
	src := startReadAhead(v.src)
	defer src.close()
	// The header is searched among the first rows; they are kept to be
	// validated as data once it is found.
	var first []sheet.Row
	for len(first) < headerScanRows {
		r, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read sheet: %w", err)
		}
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
	v.indexCredentials()
	for _, r := range first[h+1:] {
		if err := v.row(r); err != nil {
			return err
		}
	}
	for n := 0; ; n++ {
		// Asking the context costs more than a row of arithmetic, so it is
		// asked every few hundred rows.
		if n%256 == 0 {
			if err := v.ctx.Err(); err != nil {
				return err
			}
		}
		r, err := src.Next()
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
		v.columns = append(v.columns, column{index: c.Index, name: mapping.ColumnName(cols, i), attr: c.Attribute, kind: kind,
			get: accessorOf(c.Attribute), maxLen: bulk.MaxLen(c.Attribute)})
	}
	v.fits = make([]cellFit, len(v.columns))
	for i, c := range v.columns {
		if c.kind == bulk.KindDate {
			v.dateCols = append(v.dateCols, i)
		}
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

// indexCredentials indexes the credentials by the match key; with no
// column to match by, every row is an error and no index is needed.
func (v *validation) indexCredentials() {
	if v.keyCol < 0 {
		return
	}
	v.byKey = newIndex(v.in.Credentials, v.in.Group.ID, v.report.MatchBy)
	v.heldAt = make([]int32, len(v.in.Credentials))
}

// row reads one data row: it updates the date-format evidence, then either
// decides the row or holds it until the end.
func (v *validation) row(r sheet.Row) error {
	v.report.DataRows++
	v.observeDates(r.Cells)
	o, pos, ambiguous := v.evaluate(r.Number, r.Cells, false)
	if ambiguous {
		v.pending = append(v.pending, &pendingRow{number: r.Number, cells: r.Cells})
		return nil
	}
	return v.settle(o, pos)
}

// observeDates narrows the date formats consistent with every date written
// as text so far. A value no format can read is an error of its row and
// says nothing about the format.
func (v *validation) observeDates(cells []sheet.Cell) {
	for _, i := range v.dateCols {
		c := &v.columns[i]
		v.fits[i].text = ""
		if c.index >= len(cells) {
			continue
		}
		cell := &cells[c.index]
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
		if v.single {
			// Once the column has settled on one format, a value it reads
			// leaves the evidence as it is: only the others need Fit.
			if d, readings, err := dates.Resolve(text, v.formats); err == nil && readings == nil {
				v.fits[i] = cellFit{text: text, fit: v.formats, date: d, only: true}
				v.sawDates = true
				continue
			}
		}
		fit := dates.Fit(text)
		v.fits[i] = cellFit{text: text, fit: fit}
		if fit != 0 {
			v.formats &= fit
			v.sawDates = true
			v.single = v.formats.Len() == 1
		}
	}
}

// settle emits a final row, or holds a matched one until the end, when a
// later row may turn out to target the same credential. While the end is
// being decided, final rows are kept aside in late to be merged.
func (v *validation) settle(o Outcome, pos int) error {
	if o.Before == nil {
		return v.sendOrKeep(o)
	}
	slot := v.byKey.slotOf(pos)
	if at := v.heldAt[slot]; at > 0 {
		h := v.held.at(int(at))
		h.addDuplicate(o.Row.Row)
		markDuplicate(o.Row, []int{h.number}, o.Before.ID)
		return v.sendOrKeep(o)
	}
	v.heldAt[slot] = int32(v.held.add(hold(o.Row, pos)))
	return nil
}

// markDuplicate makes the row, whose credential other rows target too, an
// error.
func markDuplicate(r *bulk.Row, duplicates []int, credID string) {
	others := make([]string, len(duplicates))
	for i, n := range duplicates {
		others[i] = fmt.Sprint(n)
	}
	which := "row " + others[0] + " also targets"
	if len(others) > 1 {
		which = "rows " + strings.Join(others, ", ") + " also target"
	}
	r.Errors = append(r.Errors, bulk.Issue{
		Code:    bulk.ErrDuplicateTarget,
		Message: fmt.Sprintf("%s credential %s; one credential can be updated by one row only", which, credID),
	})
	r.Outcome = bulk.OutcomeError
	r.Changes, r.Warnings, r.Renewal = nil, nil, false
}

func (v *validation) sendOrKeep(o Outcome) error {
	// Rows are evaluated into one scratch row; one handed over is the
	// caller's to keep.
	r := new(bulk.Row)
	*r = *o.Row
	o.Row = r
	if v.late != nil {
		v.late = append(v.late, o)
		return nil
	}
	return v.send(o)
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
	// Rows are held in sheet order as they stream by. The rows decided here
	// are in sheet order too: those final at once are kept aside (late),
	// the others held after the streamed ones. Merging the three runs
	// hands every row of the end over in sheet order.
	streamed := v.held.n
	v.late = []Outcome{}
	for _, p := range v.pending {
		o, pos, _ := v.evaluate(p.number, p.cells, true)
		if err := v.settle(o, pos); err != nil {
			return err
		}
	}
	late := v.late
	v.pending, v.late = nil, nil
	i, j, k := 1, streamed+1, 0
	for i <= streamed || j <= v.held.n || k < len(late) {
		// Pick the lowest row number of the three runs' heads.
		which, low := 0, 0
		if i <= streamed {
			which, low = 1, v.held.at(i).number
		}
		if j <= v.held.n && (which == 0 || v.held.at(j).number < low) {
			which, low = 2, v.held.at(j).number
		}
		if k < len(late) && (which == 0 || late[k].Row.Row < low) {
			which = 3
		}
		var o Outcome
		switch which {
		case 3:
			o = late[k]
			k++
		default:
			var h *heldRow
			if which == 1 {
				h, i = v.held.at(i), i+1
			} else {
				h, j = v.held.at(j), j+1
			}
			cred := &v.in.Credentials[h.pos]
			o = Outcome{Row: h.row(cred), Before: cred}
			if dups := h.duplicates(); len(dups) > 0 {
				markDuplicate(o.Row, dups, cred.ID)
			}
			if o.Row.Outcome == bulk.OutcomeUpdate {
				o.After = applyChanges(cred, o.Row.Changes)
			}
		}
		if err := v.send(o); err != nil {
			return err
		}
	}
	v.held, v.heldAt = heldRows{}, nil
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
