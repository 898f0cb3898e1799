package xls

import (
	"fmt"
	"math"
	"slices"
)

// BIFF8's sheet size: rows are 16-bit, columns 0–255.
const maxCols = 256

// Rows iterates over the rows of one worksheet that hold at least one value,
// in ascending row order:
//
//	rows, err := wb.Rows(0)
//	for rows.Next() {
//		index, cells := rows.Row()
//	}
//	err = rows.Err()
type Rows struct {
	w *Workbook

	// Cell records are read in file order when their rows ascend (every
	// spreadsheet program writes them so), otherwise through an index sorted
	// by row.
	walk    walker
	pending cellRef
	peeked  bool
	index   []cellRef

	row   int
	cells []Value
	done  bool
	err   error
}

// cellRef locates a cell record: its row and its offset in the stream.
type cellRef struct {
	off uint32
	row uint16
}

// Rows returns an iterator over worksheet sheet (an index into Sheets). It
// checks the sheet's record structure first, so a damaged sheet fails here
// rather than half-way through.
func (w *Workbook) Rows(sheet int) (*Rows, error) {
	if sheet < 0 || sheet >= len(w.sheets) {
		return nil, fmt.Errorf("xls: sheet %d out of range: workbook has %d worksheets", sheet, len(w.sheets))
	}
	s := w.sheets[sheet]
	bof, err := recordAt(w.data, s.offset)
	if err != nil {
		return nil, fmt.Errorf("sheet %q: %w", s.name, err)
	}
	if err := checkBOF(bof, bofWorksheet); err != nil {
		return nil, fmt.Errorf("sheet %q: %w", s.name, err)
	}
	start := walker{data: w.data, off: bof.next()}

	// First pass: validate the records and see whether rows ascend.
	scan, sorted, prev := start, true, -1
	for {
		ref, ok, err := scan.next()
		if err != nil {
			return nil, fmt.Errorf("sheet %q: %w", s.name, err)
		}
		if !ok {
			break
		}
		if int(ref.row) < prev {
			sorted = false
			break
		}
		prev = int(ref.row)
	}
	r := &Rows{w: w, walk: start}
	if !sorted {
		if r.index, err = sortedIndex(start); err != nil {
			return nil, fmt.Errorf("sheet %q: %w", s.name, err)
		}
	}
	return r, nil
}

// sortedIndex lists a sheet's cell records ordered by row, keeping file
// order within a row.
func sortedIndex(walk walker) ([]cellRef, error) {
	var index []cellRef
	for {
		ref, ok, err := walk.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		index = append(index, ref)
	}
	slices.SortStableFunc(index, func(a, b cellRef) int { return int(a.row) - int(b.row) })
	return index, nil
}

// Next advances to the next row that has at least one cell record other
// than BLANK or MULBLANK. It returns false at the end of the sheet or on an
// error (see Err).
func (r *Rows) Next() bool {
	if r.done || r.err != nil {
		return false
	}
	// Rows of a sheet tend to be equally wide: size this one like the last.
	r.cells = make([]Value, 0, len(r.cells))
	found := false
	for {
		ref, ok := r.peek()
		if r.err != nil {
			return false
		}
		if !ok {
			r.done = true
			break
		}
		if found && int(ref.row) != r.row {
			break
		}
		r.advance()
		if !found {
			r.row, found = int(ref.row), true
		}
		if err := r.decode(ref); err != nil {
			r.err = err
			return false
		}
	}
	return found
}

// Row returns the current row's 0-based index and its cells, indexed by
// 0-based column; columns without a value are Blank. The slice is the
// caller's to keep.
func (r *Rows) Row() (index int, cells []Value) { return r.row, r.cells }

// Err returns the error that stopped the iteration, if any.
func (r *Rows) Err() error { return r.err }

func (r *Rows) peek() (cellRef, bool) {
	if r.index != nil {
		if len(r.index) == 0 {
			return cellRef{}, false
		}
		return r.index[0], true
	}
	if !r.peeked {
		ref, ok, err := r.walk.next()
		if err != nil {
			r.err = err
			return cellRef{}, false
		}
		if !ok {
			return cellRef{}, false
		}
		r.pending, r.peeked = ref, true
	}
	return r.pending, true
}

func (r *Rows) advance() {
	if r.index != nil {
		r.index = r.index[1:]
		return
	}
	r.peeked = false
}

// set stores v at column col of the current row.
func (r *Rows) set(col uint16, v Value, off int) error {
	if col >= maxCols {
		return fmt.Errorf("%w: cell record at offset %d puts row %d column %d past BIFF8's %d columns", ErrCorrupt, off, r.row, col, maxCols)
	}
	for len(r.cells) <= int(col) {
		r.cells = append(r.cells, Value{})
	}
	r.cells[col] = v
	return nil
}

// number makes a Number value, flagged as a date when its XF formats dates.
func (r *Rows) number(f float64, xf uint16) Value {
	return Value{Type: Number, F: f, Date: int(xf) < len(r.w.xfDate) && r.w.xfDate[xf]}
}

// decode adds the values of one cell record to the current row.
func (r *Rows) decode(ref cellRef) error {
	rec, err := recordAt(r.w.data, int(ref.off))
	if err != nil {
		return err
	}
	b := rec.body // walker checked it holds row, column and XF
	col, xf := le16(b[2:]), le16(b[4:])
	short := func(need int) error {
		return fmt.Errorf("%w: record 0x%04X at offset %d has %d bytes, needs %d", ErrCorrupt, rec.typ, rec.off, len(b), need)
	}
	switch rec.typ {
	case recLabelSST:
		if len(b) < 10 {
			return short(10)
		}
		i := le32(b[6:])
		if int64(i) >= int64(len(r.w.sst)) {
			return fmt.Errorf("%w: cell at offset %d uses shared string %d of %d", ErrCorrupt, rec.off, i, len(r.w.sst))
		}
		return r.set(col, Value{Type: String, S: r.w.sst[i]}, rec.off)
	case recLabel, recRString:
		c := &continued{segs: [][]byte{b[6:]}, off: rec.off}
		s, err := c.unicodeString()
		if err != nil {
			return err
		}
		return r.set(col, Value{Type: String, S: s}, rec.off)
	case recNumber:
		if len(b) < 14 {
			return short(14)
		}
		return r.set(col, r.number(math.Float64frombits(le64(b[6:])), xf), rec.off)
	case recRK:
		if len(b) < 10 {
			return short(10)
		}
		return r.set(col, r.number(rk(le32(b[6:])), xf), rec.off)
	case recMulRK:
		// colFirst, then (XF, RK) pairs, then colLast.
		n := (len(b) - 6) / 6
		if n < 1 || (len(b)-6)%6 != 0 {
			return fmt.Errorf("%w: MULRK record at offset %d has %d bytes", ErrCorrupt, rec.off, len(b))
		}
		if last := le16(b[len(b)-2:]); int(last) != int(col)+n-1 {
			return fmt.Errorf("%w: MULRK record at offset %d holds %d cells from column %d but ends at column %d", ErrCorrupt, rec.off, n, col, last)
		}
		for i := range n {
			p := b[4+6*i:]
			if err := r.set(col+uint16(i), r.number(rk(le32(p[2:])), le16(p)), rec.off); err != nil {
				return err
			}
		}
		return nil
	case recBoolErr:
		if len(b) < 8 {
			return short(8)
		}
		return r.set(col, boolOrError(b[6], b[7] != 0), rec.off)
	case recFormula:
		if len(b) < 14 {
			return short(14)
		}
		v, err := r.formulaResult(rec, xf)
		if err != nil {
			return err
		}
		return r.set(col, v, rec.off)
	}
	return nil
}

// formulaResult reads the cached result of a FORMULA record. A result whose
// top two bytes are 0xFFFF is not a number but a string, boolean, error or
// empty string, told by its first byte.
func (r *Rows) formulaResult(rec record, xf uint16) (Value, error) {
	v := rec.body[6:14]
	if le16(v[6:]) != 0xFFFF {
		return r.number(math.Float64frombits(le64(v)), xf), nil
	}
	switch v[0] {
	case 0: // string: in the STRING record after the formula
		return r.formulaString(rec)
	case 1:
		return boolOrError(v[2], false), nil
	case 2:
		return boolOrError(v[2], true), nil
	case 3:
		return Value{Type: String}, nil
	}
	return Value{}, fmt.Errorf("%w: formula at offset %d has result type %d", ErrCorrupt, rec.off, v[0])
}

// formulaString reads the STRING record that holds a formula's string
// result. Shared-formula, array and table records may stand between them.
func (r *Rows) formulaString(formula record) (Value, error) {
	for off := formula.next(); ; {
		rec, err := recordAt(r.w.data, off)
		if err != nil {
			return Value{}, err
		}
		switch rec.typ {
		case recShrFmla, recArray, recTable:
			off = rec.next()
			continue
		case recString:
			s, err := continuedAt(r.w.data, rec).unicodeString()
			if err != nil {
				return Value{}, fmt.Errorf("formula result: %w", err)
			}
			return Value{Type: String, S: s}, nil
		}
		return Value{}, fmt.Errorf("%w: string formula at offset %d is not followed by its STRING record", ErrCorrupt, formula.off)
	}
}

// rk decodes an RK number: a 30-bit integer or the top 30 bits of a double,
// optionally to be divided by 100.
func rk(v uint32) float64 {
	var f float64
	if v&0x02 != 0 {
		f = float64(int32(v) >> 2)
	} else {
		f = math.Float64frombits(uint64(v&0xFFFFFFFC) << 32)
	}
	if v&0x01 != 0 {
		f /= 100
	}
	return f
}

// boolOrError makes the value of a BOOLERR record or a boolean/error
// formula result.
func boolOrError(b byte, isError bool) Value {
	if !isError {
		if b != 0 {
			return Value{Type: Bool, F: 1}
		}
		return Value{Type: Bool}
	}
	return Value{Type: ErrorValue, S: errorText(b)}
}

// errorText is the error value as Excel shows it ([MS-XLS] 2.5.97.2 BErr).
func errorText(code byte) string {
	switch code {
	case 0x00:
		return "#NULL!"
	case 0x07:
		return "#DIV/0!"
	case 0x0F:
		return "#VALUE!"
	case 0x17:
		return "#REF!"
	case 0x1D:
		return "#NAME?"
	case 0x24:
		return "#NUM!"
	case 0x2A:
		return "#N/A"
	case 0x2B:
		return "#GETTING_DATA"
	}
	return fmt.Sprintf("#ERR%d!", code)
}

// walker visits the cell records of one worksheet substream in file order,
// skipping the substreams of charts embedded in it.
type walker struct {
	data  []byte
	off   int
	depth int // nested BOF/EOF pairs inside the worksheet
}

// next returns the next cell record; ok is false at the worksheet's EOF.
func (w *walker) next() (ref cellRef, ok bool, err error) {
	for {
		rec, err := recordAt(w.data, w.off)
		if err != nil {
			return cellRef{}, false, err
		}
		w.off = rec.next()
		switch rec.typ {
		case recBOF:
			w.depth++
			continue
		case recEOF:
			if w.depth == 0 {
				w.off = rec.off // stay at EOF: further calls report the end again
				return cellRef{}, false, nil
			}
			w.depth--
			continue
		case recLabelSST, recLabel, recRString, recNumber, recRK, recMulRK, recBoolErr, recFormula:
		default:
			continue
		}
		if w.depth > 0 {
			continue
		}
		if len(rec.body) < 6 {
			return cellRef{}, false, fmt.Errorf("%w: cell record 0x%04X at offset %d has %d bytes", ErrCorrupt, rec.typ, rec.off, len(rec.body))
		}
		return cellRef{off: uint32(rec.off), row: le16(rec.body)}, true, nil
	}
}
