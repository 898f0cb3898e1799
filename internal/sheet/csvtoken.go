package sheet

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// csvTokenizer splits CSV into records exactly as encoding/csv does with
// LazyQuotes, a one-byte delimiter and any number of fields per record
// (FuzzTokenizerMatchesEncodingCSV holds it to that), at less cost: the
// delimiter is a byte, the fields are cut from one string per record into
// a slice used again, and only the lines a row number needs are kept.
type csvTokenizer struct {
	r     *bufio.Reader
	comma byte

	numLine int
	raw     []byte // a line longer than the bufio buffer
	rec     []byte // the record's fields, unquoted, end to end
	ends    []int  // where each field ends in rec
	fields  []string

	// firstLine and lastLine are the lines where the record's first and
	// last fields start (encoding/csv's FieldPos).
	firstLine, lastLine int
}

func newCSVTokenizer(r *bufio.Reader, comma byte) *csvTokenizer {
	return &csvTokenizer{r: r, comma: comma}
}

// readLine is encoding/csv's: the next line with its "\n", "\r\n" made
// "\n", a "\r" before the end of the file dropped.
func (t *csvTokenizer) readLine() ([]byte, error) {
	line, err := t.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		t.raw = append(t.raw[:0], line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			line, err = t.r.ReadSlice('\n')
			t.raw = append(t.raw, line...)
		}
		line = t.raw
	}
	n := len(line)
	if n > 0 && err == io.EOF {
		err = nil
		if line[n-1] == '\r' {
			line = line[:n-1]
		}
	}
	t.numLine++
	if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
		line[n-2] = '\n'
		line = line[:n-1]
	}
	return line, err
}

// lengthNL is 1 when b ends with a line feed.
func lengthNL(b []byte) int {
	if len(b) > 0 && b[len(b)-1] == '\n' {
		return 1
	}
	return 0
}

// read returns the next record's fields, valid until the next read.
func (t *csvTokenizer) read() ([]string, error) {
	var line []byte
	var errRead error
	for errRead == nil {
		line, errRead = t.readLine()
		if errRead == nil && len(line) == lengthNL(line) {
			line = nil
			continue // blank lines are skipped
		}
		break
	}
	if errRead == io.EOF {
		return nil, errRead
	}

	t.firstLine = t.numLine
	if bytes.IndexByte(line, '"') < 0 {
		// No quotes, the usual record: the line is the record, its
		// fields what lies between the delimiters.
		t.lastLine = t.numLine
		rest := string(line[:len(line)-lengthNL(line)])
		t.fields = t.fields[:0]
		for {
			i := strings.IndexByte(rest, t.comma)
			if i < 0 {
				t.fields = append(t.fields, rest)
				return t.fields, errRead
			}
			t.fields = append(t.fields, rest[:i])
			rest = rest[i+1:]
		}
	}
	t.rec, t.ends = t.rec[:0], t.ends[:0]
	posLine := t.numLine
parseField:
	for {
		t.lastLine = posLine
		if len(line) == 0 || line[0] != '"' {
			// An unquoted field: a quote inside it is a quote.
			i := bytes.IndexByte(line, t.comma)
			field := line
			if i >= 0 {
				field = field[:i]
			} else {
				field = field[:len(field)-lengthNL(field)]
			}
			t.rec = append(t.rec, field...)
			t.ends = append(t.ends, len(t.rec))
			if i >= 0 {
				line = line[i+1:]
				continue parseField
			}
			break parseField
		}
		// A quoted field, perhaps over several lines.
		line = line[1:]
		for {
			i := bytes.IndexByte(line, '"')
			switch {
			case i >= 0:
				t.rec = append(t.rec, line[:i]...)
				line = line[i+1:]
				switch {
				case len(line) > 0 && line[0] == '"': // "" is a quote
					t.rec = append(t.rec, '"')
					line = line[1:]
				case len(line) > 0 && line[0] == t.comma: // the field ends
					line = line[1:]
					t.ends = append(t.ends, len(t.rec))
					continue parseField
				case lengthNL(line) == len(line): // the record ends
					t.ends = append(t.ends, len(t.rec))
					break parseField
				default: // a bare quote is a quote
					t.rec = append(t.rec, '"')
				}
			case len(line) > 0:
				// The field goes on past the end of the line.
				t.rec = append(t.rec, line...)
				if errRead != nil {
					break parseField
				}
				line, errRead = t.readLine()
				if len(line) > 0 {
					posLine++
				}
				if errRead == io.EOF {
					errRead = nil
				}
			default:
				// The file ends inside the quotes: the field ends there.
				t.ends = append(t.ends, len(t.rec))
				break parseField
			}
		}
	}

	// One string per record, the fields cut from it.
	s := string(t.rec)
	t.fields = t.fields[:0]
	prev := 0
	for _, end := range t.ends {
		t.fields = append(t.fields, s[prev:end])
		prev = end
	}
	return t.fields, errRead
}
