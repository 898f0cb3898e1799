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
// Speed: the work is split across goroutines, in sheet order where order
// matters. One reads the sheet ahead (readahead.go) and gathers the date
// evidence, which is sequential by nature; while it starts, the credentials
// are indexed by the match key, on two goroutines (index.go). Batches of
// rows are then evaluated on as many goroutines as there are processors
// (stream.go): evaluating a row reads nothing that changes while rows
// stream by. The validation's goroutine settles the evaluated rows in
// sheet order: holds, duplicates, summary, fingerprint, emit. Matching
// tries the credential after the last one matched before the index, since
// sheets often list credentials in the group's own order. See
// docs/performance.md for what a validation costs.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
// Input.Credentials), to be read only. The row is valid until emit
// returns (rows are worked out in rows used again): emit copies what it
// keeps. What the row points to (changes, issues) stays as it is.
type Outcome struct {
	Row    *bulk.Row
	Before *bulk.Credential
}

// After returns what the row would make of the credential, or nil unless
// the outcome is update. It is to be read only: it shares what the row
// leaves as it is with Before (the custom attributes, unless the row
// changes one of them). Few callers need it, so it is worked out when
// asked for.
func (o Outcome) After() *bulk.Credential {
	if o.Before == nil || o.Row.Outcome != bulk.OutcomeUpdate {
		return nil
	}
	return applyChanges(o.Before, o.Row.Changes)
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
	return run(ctx, src, in, emit, runtime.GOMAXPROCS(0))
}

// run is Run with rows evaluated on workers goroutines.
func run(ctx context.Context, src Rows, in Input, emit func(Outcome) error, workers int) (*bulk.Report, error) {
	v, err := newValidation(ctx, src, in, emit)
	if err != nil {
		return nil, err
	}
	v.workers = max(1, workers)
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
	// Set up before the rows stream by, then only read, by every goroutine.
	ctx    context.Context
	src    Rows
	in     Input
	emit   func(Outcome) error
	report *bulk.Report

	header   []string
	width    int
	columns  []column // mapped columns, in sheet order
	dateCols []int    // indexes into columns of those holding dates
	dateOrd  []int    // by column, its place in dateCols (-1 for none)
	keyCol   int      // index into columns of the match key, -1 if none
	matchBy  string   // the match key, as the report has it
	format   string   // user-chosen date format, "" = infer
	date1904 bool
	csv      bool
	// decimalComma: a file delimited by semicolons writes 12,5 for 12.5.
	decimalComma bool
	today        string // ISO day of Input.Now
	byKey        *index
	workers      int // goroutines evaluating rows

	// Each part below is written by one goroutine at a time.

	// The date evidence of the rows settled so far, the validation
	// goroutine's (settleJob), and the formats it leaves in play, published
	// for the goroutines evaluating later rows to read their dates under.
	evidence evidence
	known    atomic.Uint32

	// elsewhere serializes the look-ups of Input.Elsewhere, which rows
	// evaluated in parallel may ask for.
	elsewhere sync.Mutex

	// The validation goroutine's own.
	seq worker // evaluates the rows evaluated on the validation's goroutine
	// held are the matched rows waiting for the end, in the order they
	// were held; heldAt maps a credential's slot to 1 + its entry there.
	held    heldRows
	heldAt  []int32
	pending []*pendingRow // rows with a date read differently by candidate formats
	late    []lateRow     // rows of pending final at the end, to merge with the held ones
	// duplicates are, by held row number, the later rows targeting the same
	// credential.
	duplicates map[int][]int
	fp         fingerprint
	scratch    bulk.Row // a row evaluated or made again on the validation's goroutine
	free       []*job   // jobs done with, to be used again
}

// worker is what a goroutine evaluating rows keeps from one row to the
// next; each has its own.
type worker struct {
	key  []byte // the row's key, built here so a look-up makes no string
	next int    // position of the credential after the last one matched
	// changes is where a row's changes are gathered; block is where those
	// of a row worked out are copied to, a few rows' worth at a time.
	changes, block []bulk.Change
}

// changeBlock is how many changes are allocated at a time.
const changeBlock = 1024

// keep copies a row's changes out of the worker's scratch.
func (w *worker) keep(c []bulk.Change) []bulk.Change {
	if len(w.block) < len(c) {
		w.block = make([]bulk.Change, max(changeBlock, len(c)))
	}
	k := w.block[:len(c):len(c)]
	copy(k, c)
	w.block = w.block[len(c):]
	return k
}

// rowState is what evaluating a row needs to know of the rows before it:
// the date formats still consistent with the file once the row's own dates
// are counted, and what readDates found for its date cells (by date
// column), so evaluate need not work it out again.
type rowState struct {
	formats dates.Set
	fits    []cellFit
}

// heldRow is a matched row waiting for the end, kept small: a group's
// worth of them is most of what a validation holds. Its credential and
// outcome are a position and a code, what few rows carry besides changes
// is kept apart, and the row is made again when it is handed over. hash is
// the row's for the fingerprint, worked out where the row was, unless
// later rows target the credential too (dup).
type heldRow struct {
	number  int
	pos     int32 // of the credential in Input.Credentials
	outcome uint8 // index into outcomes
	renewal bool
	dup     bool
	hash    uint64
	changes []bulk.Change
	more    *heldMore
}

type heldMore struct {
	warnings, errors, notes []bulk.Issue
}

// outcomes are the outcomes a held row can have, by heldRow.outcome.
var outcomes = [...]string{bulk.OutcomeUpdate, bulk.OutcomeUnchanged, bulk.OutcomeError}

func hold(r *bulk.Row, pos int, hash uint64) heldRow {
	h := heldRow{number: r.Row, pos: int32(pos), renewal: r.Renewal, hash: hash, changes: r.Changes}
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

// row makes the held row again, into r.
func (h *heldRow) row(cred *bulk.Credential, r *bulk.Row) {
	*r = bulk.Row{Row: h.number, CredentialID: cred.ID, Outcome: outcomes[h.outcome], Changes: h.changes, Renewal: h.renewal}
	if h.more != nil {
		r.Warnings, r.Errors, r.Notes = h.more.warnings, h.more.errors, h.more.notes
	}
}

// lateRow is a row final at the end, with its hash for the fingerprint.
type lateRow struct {
	o    Outcome
	hash uint64
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
		l.blocks = append(l.blocks, heldPool.get(heldBlock)[:0])
	}
	b := &l.blocks[len(l.blocks)-1]
	*b = append(*b, h)
	l.n++
	return l.n
}

// release gives the blocks back (pool.go) and empties the list.
func (l *heldRows) release() {
	for _, b := range l.blocks {
		heldPool.put(b)
	}
	*l = heldRows{}
}

// at returns the held row numbered n (1-based).
func (l *heldRows) at(n int) *heldRow {
	return &l.blocks[(n-1)/heldBlock][(n-1)%heldBlock]
}

type cellFit struct {
	text string // the trimmed text the formats were found for; "" = none
	// With one format left in play, only it is tried: fit is then that
	// format, and day what it reads.
	day  dates.Date
	fit  dates.Set
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
		evidence:     evidence{formats: dates.All()},
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
	src := startReadAhead(v.src, headerScanRows)
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
	// The rows under the header are observed and evaluated here, the rest
	// as they stream by, while the credentials are indexed.
	data := first[h+1:]
	states := make([]rowState, len(data))
	for i, r := range data {
		v.report.DataRows++
		states[i].fits = make([]cellFit, len(v.dateCols))
		v.readDates(r.Cells, states[i].fits, v.evidence.formats, &v.seq)
		v.evidence.narrow(states[i].fits)
		states[i].formats = v.evidence.formats
	}
	v.indexCredentials()
	if v.byKey != nil {
		defer v.byKey.release()
	}
	for i, r := range data {
		row := &v.scratch
		pos, ambiguous := v.evaluate(row, r.Number, r.Cells, &states[i], &v.seq, false)
		if err := v.decide(row, pos, ambiguous, r, rowHash(row)); err != nil {
			return err
		}
	}
	if err := v.stream(src); err != nil {
		return err
	}
	return v.finish()
}

func cellTexts(cells []sheet.Cell) []string {
	out := make([]string, len(cells))
	for i, c := range cells {
		out[i] = trim(c.Text)
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
	for i, c := range v.columns {
		if c.kind == bulk.KindDate {
			v.dateCols = append(v.dateCols, i)
			v.dateOrd = append(v.dateOrd, len(v.dateCols)-1)
		} else {
			v.dateOrd = append(v.dateOrd, -1)
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
	v.report.MatchBy, v.matchBy = key, key
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
	v.heldAt = heldAtPool.get(len(v.in.Credentials))
}

// decide holds an ambiguous row for the end, or settles it; hash is the
// row's for the fingerprint.
func (v *validation) decide(row *bulk.Row, pos int, ambiguous bool, r sheet.Row, hash uint64) error {
	if ambiguous {
		v.pending = append(v.pending, &pendingRow{number: r.Number, cells: r.Cells})
		return nil
	}
	return v.settle(row, pos, hash)
}

// evidence is what the dates of the rows observed so far say of the
// file's date format: the formats consistent with every one of them
// written as text, and whether there was any.
type evidence struct {
	formats dates.Set
	saw     bool
}

// readDates reads the row's date cells written as text and notes in fits
// (by date column) what formats fit each. A value no format can read is
// an error of its row and says nothing about the format.
//
// known is a set of formats that holds every format still in play: the
// evidence of rows before this one, though perhaps not all of them. Once
// it is down to one format, a value that format reads is read under it
// alone (the evidence then stays as it is, whatever the rows between
// did); only the other values are fitted against every format.
func (v *validation) readDates(cells []sheet.Cell, fits []cellFit, known dates.Set, m *worker) {
	single := known.Len() == 1
	for k, i := range v.dateCols {
		c := &v.columns[i]
		fits[k].text = ""
		if c.index >= len(cells) {
			continue
		}
		cell := &cells[c.index]
		if cell.Kind == sheet.Date || cell.Kind == sheet.Number {
			continue
		}
		text := trim(cell.Text)
		if text == "" {
			continue
		}
		if _, ok := dates.SerialLike(text); ok {
			continue
		}
		if single {
			if d, ok := dates.In(text, known); ok {
				fits[k] = cellFit{text: text, day: d, fit: known, only: true}
				continue
			}
		}
		fits[k] = cellFit{text: text, fit: dates.Fit(text)}
	}
}

// narrow adds a row's dates, as readDates found them, to the evidence.
func (e *evidence) narrow(fits []cellFit) {
	for i := range fits {
		f := &fits[i]
		switch {
		case f.text == "":
		case f.only:
			e.saw = true
		case f.fit != 0:
			e.formats &= f.fit
			e.saw = true
		}
	}
}

// settle emits a final row, or holds a matched one until the end, when a
// later row may turn out to target the same credential. While the end is
// being decided, final rows are kept aside in late to be merged.
func (v *validation) settle(row *bulk.Row, pos int, hash uint64) error {
	o := Outcome{Row: row}
	if pos < 0 {
		return v.sendOrKeep(o, hash)
	}
	o.Before = &v.in.Credentials[pos]
	slot := v.byKey.slotOf(pos)
	if at := v.heldAt[slot]; at > 0 {
		h := v.held.at(int(at))
		if v.duplicates == nil {
			v.duplicates = map[int][]int{}
		}
		v.duplicates[int(at)] = append(v.duplicates[int(at)], o.Row.Row)
		h.dup = true
		markDuplicate(o.Row, []int{h.number}, o.Before.ID)
		return v.sendOrKeep(o, rowHash(o.Row))
	}
	v.heldAt[slot] = int32(v.held.add(hold(row, pos, hash)))
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

func (v *validation) sendOrKeep(o Outcome, hash uint64) error {
	if v.late != nil {
		// Rows are evaluated into rows used again: one kept is copied.
		r := *o.Row
		o.Row = &r
		v.late = append(v.late, lateRow{o: o, hash: hash})
		return nil
	}
	return v.send(o, hash)
}

func (v *validation) send(o Outcome, hash uint64) error {
	v.report.Summary.Add(o.Row)
	v.fp.add(hash)
	return v.emit(o)
}

// finish decides the rows held back and completes the report.
func (v *validation) finish() error {
	// Rows are held in sheet order as they stream by. The rows decided here
	// are in sheet order too: those final at once are kept aside (late),
	// the others held after the streamed ones. Merging the three runs
	// hands every row of the end over in sheet order.
	streamed := v.held.n
	v.late = []lateRow{}
	// Every format still in play is known now; what readDates found
	// then is not used.
	st := rowState{formats: v.evidence.formats, fits: make([]cellFit, len(v.dateCols))}
	for _, p := range v.pending {
		row := &v.scratch
		pos, _ := v.evaluate(row, p.number, p.cells, &st, &v.seq, true)
		if err := v.settle(row, pos, rowHash(row)); err != nil {
			return err
		}
	}
	late := v.late
	v.pending, v.late = nil, nil
	if err := v.handOver(streamed, late); err != nil {
		return err
	}
	v.held.release()
	heldAtPool.put(v.heldAt)
	v.heldAt, v.duplicates = nil, nil
	rep := v.report
	rep.DateFormat = v.format
	if v.evidence.saw {
		rep.DateFormatCandidates = v.evidence.formats.Formats()
		if rep.DateFormat == "" && len(rep.DateFormatCandidates) == 1 {
			rep.DateFormat = rep.DateFormatCandidates[0]
		}
	}
	rep.Fingerprint = v.fp.sum(rep)
	return nil
}
