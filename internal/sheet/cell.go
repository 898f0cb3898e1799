// Package sheet reads spreadsheets (CSV, XLSX, legacy XLS) as a stream of
// rows of typed cells, whatever the file's name says, within size limits.
package sheet

import (
	"time"

	"github.com/credup/credup/internal/dates"
)

// Kind is what a cell holds.
type Kind uint8

const (
	Empty Kind = iota
	Text
	Number // Num holds the value; Day the date it stands for as an Excel serial, when it is one
	Date   // a cell formatted as a date in the workbook; Day holds the date
	Bool
)

// Cell is one cell's value. Text is always set: the string for text cells,
// the shortest decimal for numbers ("40", "2.5"), ISO YYYY-MM-DD (with
// "THH:MM:SS" when there is a time) for dates, TRUE/FALSE for booleans.
// It is 32 bytes: a sheet is many of them.
type Cell struct {
	Kind   Kind
	hasDay bool
	day    int32 // days from 1970-01-01
	Text   string
	Num    float64
}

// Day returns the day a Date cell holds, or the date a Number cell stands
// for read as an Excel serial; ok is false when there is none.
func (c Cell) Day() (d dates.Date, ok bool) {
	if !c.hasDay {
		return dates.Date{}, false
	}
	return dates.FromDays(int(c.day)), true
}

// WithDay returns the cell with the date d.
func (c Cell) WithDay(d dates.Date) Cell {
	c.hasDay, c.day = true, int32(d.Days())
	return c
}

// withTime returns the cell with the day of t.
func (c Cell) withTime(t time.Time) Cell {
	return c.WithDay(dates.FromTime(t))
}

// Row is one non-blank row; Number is the row as the user sees it in the
// sheet (1-based, counting blank rows and the header).
type Row struct {
	Number int
	Cells  []Cell
}
