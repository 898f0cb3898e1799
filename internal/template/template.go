// Package template writes the spreadsheet a user downloads to update a
// group: the standard columns and one per design attribute, optionally
// filled with the group's current credentials so that editing the file and
// uploading it again is the natural loop. Every cell is formula-safe, and in
// XLSX the ID columns are text and the dates real dates, so the values come
// back as they went out.
package template

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
)

// Formats a template can be written in.
const (
	CSV  = "csv"
	XLSX = "xlsx"
)

// Write writes the template for group g in format "csv" or "xlsx": a header
// row of the standard attributes (headed by bulk.Labels) and the group's
// design attributes (headed by their labels), then, when creds is non-nil,
// one row per credential of the group sorted by credential ID. Credentials
// of other groups are left out; a credential that never expires has a blank
// expiry.
func Write(w io.Writer, format string, g bulk.Group, creds []bulk.Credential) error {
	t := newTable(g, creds)
	switch format {
	case CSV:
		if err := t.writeCSV(w); err != nil {
			return fmt.Errorf("write csv template for group %s: %w", g.ID, err)
		}
	case XLSX:
		if err := t.writeXLSX(w); err != nil {
			return fmt.Errorf("write xlsx template for group %s: %w", g.ID, err)
		}
	default:
		return bulk.Errorf(bulk.EInvalid, "unknown template format %q; choose %s or %s", format, CSV, XLSX)
	}
	return nil
}

// table is what a template holds, whatever its format.
type table struct {
	g     bulk.Group
	attrs []string
	kinds []string
	rows  []*bulk.Credential
}

func newTable(g bulk.Group, creds []bulk.Credential) *table {
	t := &table{g: g, attrs: g.AttributeKeys()}
	for _, a := range t.attrs {
		k, _ := g.Kind(a)
		t.kinds = append(t.kinds, k)
	}
	for i := range creds {
		if creds[i].GroupID == g.ID {
			t.rows = append(t.rows, &creds[i])
		}
	}
	slices.SortStableFunc(t.rows, func(a, b *bulk.Credential) int { return cmp.Compare(a.ID, b.ID) })
	return t
}

func (t *table) header() []string {
	h := make([]string, len(t.attrs))
	for i, a := range t.attrs {
		h[i] = bulk.EscapeFormula(t.g.Label(a))
	}
	return h
}

// utf8BOM makes Excel read the CSV as UTF-8, so accents survive.
const utf8BOM = "\ufeff"

func (t *table) writeCSV(w io.Writer) error {
	if _, err := io.WriteString(w, utf8BOM); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(t.header()); err != nil {
		return err
	}
	record := make([]string, len(t.attrs))
	for _, c := range t.rows {
		for i, a := range t.attrs {
			record[i] = bulk.EscapeFormula(c.Get(a))
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Column widths in characters, as Excel measures them.
const (
	minWidth = 10
	maxWidth = 60
)

// styles are the cell styles of an XLSX template.
type styles struct {
	header, text, date int
}

func (t *table) writeXLSX(w io.Writer) (err error) {
	f := excelize.NewFile()
	defer func() {
		// Close removes the stream's temporary files.
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("close workbook: %w", cerr)
		}
	}()
	sheet := SheetName(t.g.Name)
	if sheet != f.GetSheetName(0) {
		if err := f.SetSheetName(f.GetSheetName(0), sheet); err != nil {
			return fmt.Errorf("name sheet %q: %w", sheet, err)
		}
	}
	st, err := newStyles(f)
	if err != nil {
		return err
	}
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return fmt.Errorf("stream sheet: %w", err)
	}
	if err := t.layout(sw, st); err != nil {
		return err
	}
	header := make([]any, len(t.attrs))
	for i, h := range t.header() {
		header[i] = excelize.Cell{StyleID: st.header, Value: h}
	}
	if err := sw.SetRow("A1", header, excelize.RowOpts{StyleID: st.header}); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	values := make([]any, len(t.attrs))
	for r, c := range t.rows {
		for i, a := range t.attrs {
			values[i] = t.cell(c.Get(a), i, st)
		}
		ref, err := excelize.CoordinatesToCellName(1, r+2)
		if err != nil {
			return err
		}
		if err := sw.SetRow(ref, values); err != nil {
			return fmt.Errorf("write credential %s: %w", c.ID, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("flush sheet: %w", err)
	}
	if err := f.Write(w); err != nil {
		return fmt.Errorf("write workbook: %w", err)
	}
	return nil
}

func newStyles(f *excelize.File) (styles, error) {
	var st styles
	var err error
	if st.header, err = f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}}); err != nil {
		return st, fmt.Errorf("header style: %w", err)
	}
	// Number format 49 is "@", text: Excel keeps what is typed, leading zeros included.
	if st.text, err = f.NewStyle(&excelize.Style{NumFmt: 49}); err != nil {
		return st, fmt.Errorf("text style: %w", err)
	}
	iso := "yyyy-mm-dd"
	if st.date, err = f.NewStyle(&excelize.Style{CustomNumFmt: &iso}); err != nil {
		return st, fmt.Errorf("date style: %w", err)
	}
	return st, nil
}

// layout sets what must precede the rows: frozen header, column widths, and
// column styles so that rows the user adds read like the written ones.
func (t *table) layout(sw *excelize.StreamWriter, st styles) error {
	if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
		return fmt.Errorf("freeze header: %w", err)
	}
	for i, a := range t.attrs {
		col := i + 1
		width := utf8.RuneCountInString(t.g.Label(a)) + 2
		for _, c := range t.rows {
			width = max(width, utf8.RuneCountInString(c.Get(a))+2)
			if width >= maxWidth {
				break
			}
		}
		if err := sw.SetColWidth(col, col, float64(min(max(width, minWidth), maxWidth))); err != nil {
			return fmt.Errorf("width of column %d: %w", col, err)
		}
		switch {
		case t.isText(i):
			err := sw.SetColStyle(col, col, st.text)
			if err != nil {
				return fmt.Errorf("style of column %d: %w", col, err)
			}
		case t.kinds[i] == bulk.KindDate:
			if err := sw.SetColStyle(col, col, st.date); err != nil {
				return fmt.Errorf("style of column %d: %w", col, err)
			}
		}
	}
	return nil
}

// isText reports whether column i holds identifiers or free text that a
// spreadsheet program must not turn into numbers or dates.
func (t *table) isText(i int) bool {
	switch t.attrs[i] {
	case bulk.AttrCredentialID, bulk.AttrRecipientID:
		return true
	}
	return strings.HasPrefix(t.attrs[i], bulk.CustomPrefix) && t.kinds[i] == bulk.KindText
}

// cell is the XLSX value of column i: a date cell for a date, a number for a
// number that reads back the same, a text cell otherwise.
func (t *table) cell(v string, i int, st styles) any {
	if v == "" {
		return nil
	}
	switch {
	case t.isText(i):
		return excelize.Cell{StyleID: st.text, Value: bulk.EscapeFormula(v)}
	case t.kinds[i] == bulk.KindDate:
		if d, err := dates.ParseISO(v); err == nil {
			return excelize.Cell{StyleID: st.date, Value: time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)}
		}
		return excelize.Cell{StyleID: st.text, Value: bulk.EscapeFormula(v)}
	case t.kinds[i] == bulk.KindNumber:
		// Only a number written the way Go writes it back is safe as a
		// number cell: "40.0", "007" or "1e3" would come back changed.
		if n, err := strconv.ParseFloat(v, 64); err == nil && strconv.FormatFloat(n, 'f', -1, 64) == v {
			return n
		}
		return excelize.Cell{StyleID: st.text, Value: bulk.EscapeFormula(v)}
	}
	return bulk.EscapeFormula(v)
}

// maxSheetName is Excel's limit on a sheet name, in UTF-16 code units.
const maxSheetName = 31

// SheetName turns a group name into a sheet name Excel accepts: no
// []:*?/\ or control characters, no apostrophe at either end, at most 31
// characters, and "Credentials" when nothing is left or the name is
// Excel's reserved "History".
func SheetName(group string) string {
	var b strings.Builder
	units := 0
	for _, r := range group {
		if strings.ContainsRune(`[]:*?/\`, r) || unicode.IsControl(r) {
			continue
		}
		n := utf16.RuneLen(r)
		if n < 0 || units+n > maxSheetName {
			break
		}
		units += n
		b.WriteRune(r)
	}
	name := strings.TrimSpace(strings.Trim(strings.TrimSpace(b.String()), "'"))
	if name == "" || strings.EqualFold(name, "History") {
		return "Credentials"
	}
	return name
}
