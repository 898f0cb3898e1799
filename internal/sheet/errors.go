package sheet

import (
	"fmt"
	"strings"
)

// Codes of reading errors, stable for clients and tests.
const (
	CodeUnsupportedFormat = "unsupported_format"
	CodeEncrypted         = "encrypted"
	CodeTooLarge          = "too_large"
	CodeTooManyRows       = "too_many_rows"
	CodeTooManyColumns    = "too_many_columns"
	CodeCellTooLong       = "cell_too_long"
	CodeTruncated         = "truncated"
	CodeCorrupt           = "corrupt"
	CodeNoSheet           = "no_sheet"
	CodeEmpty             = "empty"
)

// Error is a reading error a user can act on. Row and Column are 1-based and
// 0 when the error is not about one row or column. Message never contains
// cell contents, so it is safe to log.
type Error struct {
	Code    string
	Row     int
	Column  int
	Message string
}

// Error returns the message prefixed with the position it is about, e.g.
// "row 12, column C: cell has 40000 characters; the limit is 32767".
func (e *Error) Error() string {
	switch {
	case e.Row > 0 && e.Column > 0:
		return fmt.Sprintf("row %d, column %s: %s", e.Row, ColumnLetter(e.Column-1), e.Message)
	case e.Row > 0:
		return fmt.Sprintf("row %d: %s", e.Row, e.Message)
	case e.Column > 0:
		return fmt.Sprintf("column %s: %s", ColumnLetter(e.Column-1), e.Message)
	}
	return e.Message
}

func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func cellErrorf(code string, row, col int, format string, args ...any) *Error {
	return &Error{Code: code, Row: row, Column: col, Message: fmt.Sprintf(format, args...)}
}

// ColumnLetter returns the spreadsheet name of a 0-based column index:
// 0 -> "A", 25 -> "Z", 26 -> "AA". A negative index gives "".
func ColumnLetter(index int) string {
	if index < 0 {
		return ""
	}
	var b [16]byte
	i := len(b)
	for n := index + 1; n > 0; n = (n - 1) / 26 {
		i--
		b[i] = byte('A' + (n-1)%26)
	}
	return string(b[i:])
}

// columnIndex parses the letters of a cell reference such as "AB12" into a
// 0-based column index; ok is false when there are no letters or the index
// is absurdly large.
func columnIndex(ref []byte) (index int, rest []byte, ok bool) {
	n := 0
	i := 0
	for ; i < len(ref); i++ {
		c := ref[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c < 'A' || c > 'Z' {
			break
		}
		n = n*26 + int(c-'A'+1)
		if n > 1<<24 {
			return 0, nil, false
		}
	}
	if i == 0 {
		return 0, ref, false
	}
	return n - 1, ref[i:], true
}

// plural formats a count with its noun, "1 row" / "2 rows".
func plural(n int, noun string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// quoteList formats names for a message: "Sheet1", "Data".
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
