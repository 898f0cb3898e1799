// Package sheet reads spreadsheets (CSV, XLSX, legacy XLS) as a stream of
// rows of typed cells, whatever the file's name says, within size limits.
package sheet

import "time"

// Kind is what a cell holds.
type Kind uint8

const (
	Empty Kind = iota
	Text
	Number // Num holds the value; Time holds it read as an Excel serial date, when it is one
	Date   // a cell formatted as a date in the workbook; Time holds it
	Bool
)

// Cell is one cell's value. Text is always set: the string for text cells,
// the shortest decimal for numbers ("40", "2.5"), ISO YYYY-MM-DD (with
// "THH:MM:SS" when there is a time) for dates, TRUE/FALSE for booleans.
type Cell struct {
	Kind Kind
	Text string
	Num  float64
	Time time.Time
}

// Row is one non-blank row; Number is the row as the user sees it in the
// sheet (1-based, counting blank rows and the header).
type Row struct {
	Number int
	Cells  []Cell
}
