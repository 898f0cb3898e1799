package sheet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
	"unicode/utf8"
)

// xlsxReader streams the rows of one worksheet.
type xlsxReader struct {
	wb   *workbook
	rc   io.ReadCloser
	s    *xmlScanner
	info Info

	pending *Row
	err     error
	lastRow int // number of the last <row> begun, blank or not
	doneRow int // number of the last <row> read to its end
	dimRows int // last row of the sheet's <dimension>, 0 when absent
	cells   []Cell
	num     []byte // scratch for a cell's value
	inl     []byte // scratch for an inline string
	alloc   cellAlloc
	dates   dateCache
}

func (x *xlsxReader) Info() Info { return x.info }

// prime reads the first non-blank row, so that an empty sheet is known
// before the reader is handed out.
func (x *xlsxReader) prime() error {
	r, err := x.read()
	if err != nil {
		return err
	}
	x.pending = &r
	return nil
}

func (x *xlsxReader) Next() (Row, error) {
	if x.pending != nil {
		r := *x.pending
		x.pending = nil
		return r, nil
	}
	if x.err != nil {
		return Row{}, x.err
	}
	r, err := x.read()
	if err != nil {
		x.err = err
	}
	return r, err
}

func (x *xlsxReader) Close() error {
	if x.rc == nil {
		return nil
	}
	x.err = errors.New("sheet: reader closed")
	err := x.rc.Close()
	x.rc = nil
	return err
}

func (x *xlsxReader) read() (Row, error) {
	for {
		tok, err := x.s.next()
		if err != nil {
			return Row{}, x.damaged(err)
		}
		switch tok {
		case tokEOF:
			return Row{}, x.damaged(io.ErrUnexpectedEOF)
		case tokStart:
			switch string(x.s.name) {
			case "dimension":
				if ref, ok := x.s.attr("ref"); ok {
					x.dimRows = lastRowOf(ref)
				}
			case "sheetData":
				if x.s.selfClose {
					return Row{}, io.EOF
				}
			case "row":
				row, blank, err := x.row()
				if err != nil {
					return Row{}, err
				}
				if !blank {
					return row, nil
				}
			}
		case tokEnd:
			// The end of the rows is the end of the sheet: a well-formed
			// sheet shorter than its <dimension> says is read as it is,
			// since some writers state a larger used range than they fill.
			if string(x.s.name) == "sheetData" {
				return Row{}, io.EOF
			}
		}
	}
}

// damaged is the error for XML that breaks off after the rows read so far.
func (x *xlsxReader) damaged(err error) *Error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("the data ends early")
	}
	if x.dimRows > x.doneRow && x.doneRow > 0 {
		err = fmt.Errorf("%w; the sheet says it has %d rows", err, x.dimRows)
	}
	return damagedSheet(x.info.Sheet, x.doneRow, err)
}

// row reads the <row> element whose start tag was just read.
func (x *xlsxReader) row() (Row, bool, error) {
	s := x.s
	num := x.lastRow + 1
	if v, ok := s.attr("r"); ok {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 1 {
			return Row{}, false, x.damaged(fmt.Errorf("a row numbered %q", v))
		}
		num = n
	}
	x.lastRow = num
	if s.selfClose {
		x.doneRow = num
		return Row{}, true, nil
	}
	x.cells = x.cells[:0]
	width := 0 // columns up to the last non-empty cell
	col := -1
	for {
		tok, err := s.next()
		if err != nil {
			return Row{}, false, x.damaged(err)
		}
		if tok == tokEOF {
			return Row{}, false, x.damaged(io.ErrUnexpectedEOF)
		}
		if tok == tokEnd {
			if string(s.name) == "row" {
				x.doneRow = num
				break
			}
			continue
		}
		if string(s.name) != "c" {
			if err := s.skipElement(); err != nil {
				return Row{}, false, x.damaged(err)
			}
			continue
		}
		col++
		if ref, ok := s.attr("r"); ok && len(ref) > 0 {
			c, _, ok := columnIndex(ref)
			if !ok {
				return Row{}, false, x.damaged(fmt.Errorf("a cell named %q", ref))
			}
			col = c
		}
		cell, err := x.cell(num, col)
		if err != nil {
			return Row{}, false, err
		}
		if cell.Kind == Empty {
			continue
		}
		if col >= x.wb.opts.MaxColumns {
			return Row{}, false, tooManyColumns(num, col, x.wb.opts.MaxColumns)
		}
		for len(x.cells) <= col {
			x.cells = append(x.cells, Cell{})
		}
		x.cells[col] = cell
		width = max(width, col+1)
	}
	blank := true
	for _, c := range x.cells[:width] {
		if c.Kind != Empty && (c.Kind != Text || !isSpace(c.Text)) {
			blank = false
			break
		}
	}
	if blank {
		return Row{}, true, nil
	}
	if num > x.wb.opts.MaxRows {
		return Row{}, false, tooManyRows(num, x.wb.opts.MaxRows)
	}
	cells := x.alloc.make(width)
	copy(cells, x.cells[:width])
	clear(x.cells)
	return Row{Number: num, Cells: cells}, false, nil
}

// cell reads the <c> element whose start tag was just read.
func (x *xlsxReader) cell(row, col int) (Cell, error) {
	s := x.s
	typ, _ := s.attr("t")
	t := cellType(typ)
	style := -1
	if v, ok := s.attr("s"); ok {
		if n, err := strconv.Atoi(string(v)); err == nil {
			style = n
		}
	}
	if s.selfClose {
		return Cell{}, nil
	}
	limit := utf8.UTFMax*x.wb.opts.MaxCellLen + 1
	var (
		value     []byte
		hasValue  bool
		inline    []byte
		hasInline bool
		over      bool
	)
	for {
		tok, err := s.next()
		if err != nil {
			return Cell{}, x.damaged(err)
		}
		if tok == tokEOF {
			return Cell{}, x.damaged(io.ErrUnexpectedEOF)
		}
		name := string(s.name)
		if tok == tokEnd {
			if name == "c" {
				break
			}
			continue
		}
		switch name {
		case "v":
			if s.selfClose {
				continue
			}
			text, o, err := s.readText(limit)
			if err != nil {
				return Cell{}, x.damaged(err)
			}
			x.num = append(x.num[:0], text...)
			value, hasValue, over = x.num, true, over || o
		case "is":
			if s.selfClose {
				continue
			}
			text, o, err := x.inlineString(limit)
			if err != nil {
				return Cell{}, x.damaged(err)
			}
			inline, hasInline, hasValue, over = text, true, true, over || o
		default: // <f>, <extLst>: the cached value in <v> is what is read
			if err := s.skipElement(); err != nil {
				return Cell{}, x.damaged(err)
			}
		}
	}
	if !hasValue {
		return Cell{}, nil
	}
	if over {
		return Cell{}, cellErrorf(CodeCellTooLong, row, col+1, "cell has more than %d characters; the limit is %d", x.wb.opts.MaxCellLen, x.wb.opts.MaxCellLen)
	}
	switch t {
	case typeShared:
		i, err := strconv.Atoi(string(value))
		str, ok := x.wb.sst.get(i)
		if err != nil || !ok {
			return Cell{}, cellErrorf(CodeCorrupt, row, col+1, "the cell refers to shared text %q that the workbook does not have", value)
		}
		return x.textCell(row, col, str)
	case typeInline:
		if !hasInline {
			inline = value
		}
		return x.textCell(row, col, string(unescapeOOXML(inline)))
	case typeText:
		return x.textCell(row, col, string(unescapeOOXML(value)))
	case typeBool:
		b := len(value) > 0 && value[0] != '0' && value[0] != 'f' && value[0] != 'F'
		if b {
			return Cell{Kind: Bool, Text: "TRUE", Num: 1}, nil
		}
		return Cell{Kind: Bool, Text: "FALSE"}, nil
	case typeISODate:
		return x.isoDateCell(row, col, string(value))
	}
	if len(value) == 0 {
		return Cell{}, nil
	}
	f, err := strconv.ParseFloat(string(value), 64)
	if err != nil {
		// A number cell holding something else is read as the text it holds.
		return x.textCell(row, col, string(value))
	}
	isDate := style >= 0 && style < len(x.wb.isDate) && x.wb.isDate[style]
	return x.dates.numberCell(f, isDate, x.wb.date1904), nil
}

// Cell types of the t attribute.
const (
	typeNumber  = iota // "n" or absent
	typeShared         // "s": an index into the shared strings
	typeInline         // "inlineStr"
	typeText           // "str" (a formula's text) or "e" (an error such as #N/A)
	typeBool           // "b"
	typeISODate        // "d"
)

func cellType(t []byte) int {
	switch string(t) {
	case "s":
		return typeShared
	case "inlineStr":
		return typeInline
	case "str", "e":
		return typeText
	case "b":
		return typeBool
	case "d":
		return typeISODate
	}
	return typeNumber
}

func (x *xlsxReader) textCell(row, col int, s string) (Cell, error) {
	if s == "" {
		return Cell{}, nil
	}
	if limit := x.wb.opts.MaxCellLen; len(s) > limit {
		if n := utf8.RuneCountInString(s); n > limit {
			return Cell{}, cellTooLong(row, col, n, limit)
		}
	}
	return Cell{Kind: Text, Text: s}, nil
}

// isoDateCell reads a cell of type "d", an ISO 8601 date written as text.
func (x *xlsxReader) isoDateCell(row, col int, v string) (Cell, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02", "15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return Cell{Kind: Date, Text: isoDate(t)}.withTime(t), nil
		}
	}
	return x.textCell(row, col, v)
}

// inlineString reads the text of an <is> element: its <t> and the <t> of its
// runs, phonetic guides (<rPh>) left out.
func (x *xlsxReader) inlineString(limit int) ([]byte, bool, error) {
	s := x.s
	out := x.inl[:0]
	defer func() { x.inl = out[:0] }()
	over := false
	depth, ph := 1, 0
	for depth > 0 {
		tok, err := s.next()
		if err != nil {
			return nil, false, err
		}
		switch tok {
		case tokEOF:
			return nil, false, io.ErrUnexpectedEOF
		case tokEnd:
			depth--
			if string(s.name) == "rPh" && ph > 0 {
				ph--
			}
		case tokStart:
			if s.selfClose {
				continue
			}
			switch string(s.name) {
			case "rPh":
				ph++
				depth++
			case "t":
				text, o, err := s.readText(limit - len(out))
				if err != nil {
					return nil, false, err
				}
				if ph == 0 {
					out = append(out, text...)
					over = over || o
				}
				depth++
			default:
				depth++
			}
		}
	}
	return out, over, nil
}

// lastRowOf returns the last row of a range such as "A1:J100" ("A1" for a
// single cell), 0 when it cannot be read.
func lastRowOf(ref []byte) int {
	for i := len(ref) - 1; i >= 0; i-- {
		if ref[i] == ':' {
			ref = ref[i+1:]
			break
		}
	}
	_, digits, ok := columnIndex(ref)
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(string(digits))
	if err != nil {
		return 0
	}
	return n
}
