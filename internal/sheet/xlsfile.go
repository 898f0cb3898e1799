package sheet

import (
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/credup/credup/internal/xls"
)

// openCFB opens an OLE compound document: a legacy XLS workbook, or an
// encrypted XLSX package, which Office wraps in the same container.
func openCFB(f io.ReaderAt, size int64, o Options) (Reader, error) {
	wb, err := xls.Open(f, size)
	switch {
	case errors.Is(err, xls.ErrEncrypted):
		return nil, errorf(CodeEncrypted, "the workbook is password-protected; remove the password in your spreadsheet program and upload it again")
	case errors.Is(err, xls.ErrUnsupported):
		return nil, errorf(CodeUnsupportedFormat, "the file is an old Office document that is not an Excel 97-2003 workbook (or one from Excel 95 or older); save it as .xlsx and upload it again")
	case errors.Is(err, xls.ErrCorrupt), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return nil, errorf(CodeCorrupt, "the XLS workbook is damaged and cannot be read (%v)", err)
	case err != nil:
		return nil, fmt.Errorf("read xls: %w", err)
	}
	names := wb.Sheets()
	if len(names) == 0 {
		return nil, errorf(CodeEmpty, "the workbook has no sheets")
	}
	open := func(i int) (*xlsReader, error) {
		rows, err := wb.Rows(i)
		if err != nil {
			if errors.Is(err, xls.ErrCorrupt) {
				return nil, damagedSheet(names[i], 0, err)
			}
			return nil, fmt.Errorf("read xls sheet: %w", err)
		}
		r := &xlsReader{
			rows: rows,
			opts: o,
			info: Info{Format: FormatXLS, Encoding: EncodingUTF8, Sheet: names[i], Date1904: wb.Date1904()},
		}
		if err := r.prime(); err != nil {
			return nil, err
		}
		return r, nil
	}
	if o.Sheet != "" {
		i := findSheet(names, o.Sheet)
		if i < 0 {
			return nil, errorf(CodeNoSheet, "the workbook has no sheet named %q; its sheets are %s", o.Sheet, quoteList(names))
		}
		r, err := open(i)
		if isEOF(err) {
			return nil, errorf(CodeEmpty, "the sheet %q has no data", names[i])
		}
		if err != nil {
			return nil, err
		}
		return r, nil
	}
	for _, visible := range []bool{true, false} {
		for i := range names {
			if wb.Visible(i) != visible {
				continue
			}
			r, err := open(i)
			if isEOF(err) {
				continue
			}
			if err != nil {
				return nil, err
			}
			return r, nil
		}
	}
	return nil, errorf(CodeEmpty, "the workbook has no data in any sheet")
}

// xlsReader adapts the rows of an xls worksheet.
type xlsReader struct {
	rows    *xls.Rows
	opts    Options
	info    Info
	pending *Row
	lastRow int
	err     error
}

func (x *xlsReader) Info() Info { return x.info }

func (x *xlsReader) prime() error {
	r, err := x.read()
	if err != nil {
		return err
	}
	x.pending = &r
	return nil
}

func (x *xlsReader) Next() (Row, error) {
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

func (x *xlsReader) Close() error {
	x.err = errors.New("sheet: reader closed")
	return nil
}

func (x *xlsReader) read() (Row, error) {
	for x.rows.Next() {
		index, values := x.rows.Row()
		num := index + 1
		x.lastRow = num
		width := 0
		for i, v := range values {
			if v.Type != xls.Blank && !(v.Type == xls.String && v.S == "") {
				width = i + 1
			}
		}
		if width > x.opts.MaxColumns {
			return Row{}, tooManyColumns(num, width-1, x.opts.MaxColumns)
		}
		cells := make([]Cell, width)
		blank := true
		for i, v := range values[:width] {
			c, err := x.cell(v, num, i)
			if err != nil {
				return Row{}, err
			}
			cells[i] = c
			if c.Kind != Empty && (c.Kind != Text || !isSpace(c.Text)) {
				blank = false
			}
		}
		if blank {
			continue
		}
		if num > x.opts.MaxRows {
			return Row{}, tooManyRows(num, x.opts.MaxRows)
		}
		return Row{Number: num, Cells: cells}, nil
	}
	if err := x.rows.Err(); err != nil {
		if errors.Is(err, xls.ErrCorrupt) {
			return Row{}, damagedSheet(x.info.Sheet, x.lastRow, err)
		}
		return Row{}, fmt.Errorf("read xls sheet: %w", err)
	}
	return Row{}, io.EOF
}

func (x *xlsReader) cell(v xls.Value, row, col int) (Cell, error) {
	switch v.Type {
	case xls.String, xls.ErrorValue:
		if v.S == "" {
			return Cell{}, nil
		}
		if limit := x.opts.MaxCellLen; len(v.S) > limit {
			if n := utf8.RuneCountInString(v.S); n > limit {
				return Cell{}, cellTooLong(row, col, n, limit)
			}
		}
		return Cell{Kind: Text, Text: v.S}, nil
	case xls.Number:
		return numberCell(v.F, v.Date, x.info.Date1904), nil
	case xls.Bool:
		if v.F != 0 {
			return Cell{Kind: Bool, Text: "TRUE", Num: 1}, nil
		}
		return Cell{Kind: Bool, Text: "FALSE"}, nil
	}
	return Cell{}, nil
}
