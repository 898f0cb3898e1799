package sheet

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// CSV encodings Info reports.
const (
	EncodingUTF8        = "utf-8"
	EncodingUTF8BOM     = "utf-8-bom"
	EncodingUTF16LE     = "utf-16le"
	EncodingUTF16BE     = "utf-16be"
	EncodingWindows1252 = "windows-1252"
)

// delimiters are the CSV delimiters sniffed, in order of preference on a tie.
var delimiters = []byte{',', ';', '\t', '|'}

type csvReader struct {
	info   Info
	opts   Options
	cr     *csvTokenizer
	closer io.Closer

	lastRow     int // spreadsheet row of the last record read
	lastEndLine int // physical line the last record ended on
	pending     *Row
	err         error
	alloc       cellAlloc
}

// openCSV reads CSV from src, whose first bytes are head. closer, when set,
// is closed with the reader.
func openCSV(head []byte, src io.Reader, o Options, closer io.Closer) (Reader, error) {
	enc, bom := sniffEncoding(head)
	// Drop the byte order mark: the decoders below are told to ignore it.
	if _, err := io.CopyN(io.Discard, src, int64(bom)); err != nil && !errors.Is(err, io.EOF) {
		return nil, readErr(err)
	}
	decoded, sample := src, head[bom:]
	fallback := enc == EncodingUTF8 || enc == EncodingUTF8BOM
	if !fallback {
		decoded = transform.NewReader(src, decoder(enc))
		if enc != EncodingWindows1252 { // delimiters are ASCII in Windows-1252 already
			sample, _, _ = transform.Bytes(decoder(enc), sample[:len(sample)&^1])
		}
	}
	complete := len(head) < sniffSize
	delim := sniffDelimiter(sample, complete)
	in := newCSVInput(decoded, fallback, newFieldGuard(delim, o))
	cr := newCSVTokenizer(bufio.NewReaderSize(in, 64<<10), delim)
	c := &csvReader{
		info:   Info{Format: FormatCSV, Encoding: enc, Delimiter: string(delim)},
		opts:   o,
		cr:     cr,
		closer: closer,
	}
	first, err := c.read(nil)
	if errors.Is(err, io.EOF) {
		return nil, errorf(CodeEmpty, "the file has no data")
	}
	if err != nil {
		return nil, err
	}
	c.pending = &first
	return c, nil
}

// decoder returns a new decoder from enc, a non-UTF-8 encoding, to UTF-8.
func decoder(enc string) *encoding.Decoder {
	switch enc {
	case EncodingUTF16LE:
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case EncodingUTF16BE:
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	}
	return charmap.Windows1252.NewDecoder()
}

func (c *csvReader) Info() Info { return c.info }

func (c *csvReader) Next() (Row, error) {
	if c.pending != nil {
		r := *c.pending
		c.pending = nil
		return r, nil
	}
	if c.err != nil {
		return Row{}, c.err
	}
	r, err := c.read(nil)
	if err != nil {
		c.err = err
	}
	return r, err
}

// NextInto is Next, reading the row's cells into buf (IntoReader).
func (c *csvReader) NextInto(buf []Cell) (Row, error) {
	if c.pending != nil || c.err != nil {
		return c.Next()
	}
	r, err := c.read(buf[:0])
	if err != nil {
		c.err = err
	}
	return r, err
}

func (c *csvReader) Close() error {
	c.err = errors.New("sheet: reader closed")
	if c.closer != nil {
		cl := c.closer
		c.closer = nil
		return cl.Close()
	}
	return nil
}

// read reads the next non-blank row; its cells are appended to buf when it
// is not nil, else allocated.
func (c *csvReader) read(buf []Cell) (Row, error) {
	for {
		rec, err := c.cr.read()
		if err != nil {
			return Row{}, c.readError(err)
		}
		// Rows are numbered as a spreadsheet program shows the file: blank
		// lines count, the lines of a multi-line quoted field do not.
		row := c.lastRow + c.cr.firstLine - c.lastEndLine
		last := len(rec) - 1
		c.lastEndLine = c.cr.lastLine + strings.Count(rec[last], "\n")
		c.lastRow = row

		cells, blank, cerr := c.cells(rec, row, buf)
		if cerr != nil {
			return Row{}, cerr
		}
		if blank {
			continue
		}
		if row > c.opts.MaxRows {
			return Row{}, tooManyRows(row, c.opts.MaxRows)
		}
		return Row{Number: row, Cells: cells}, nil
	}
}

func (c *csvReader) cells(rec []string, row int, buf []Cell) ([]Cell, bool, error) {
	n := len(rec)
	if hard := max(c.opts.MaxColumns, 16384); n > hard {
		return nil, false, cellErrorf(CodeTooManyColumns, row, 0, "the row has more than %d columns; the limit is %d", hard, c.opts.MaxColumns)
	}
	if n > c.opts.MaxColumns {
		// Trailing empty fields beyond the limit are only padding.
		for n > 0 && rec[n-1] == "" {
			n--
		}
		if n > c.opts.MaxColumns {
			return nil, false, tooManyColumns(row, n-1, c.opts.MaxColumns)
		}
	}
	var cells []Cell
	if buf != nil && cap(buf) >= n {
		cells = buf[:n]
		clear(cells)
	} else {
		cells = c.alloc.make(n)
	}
	blank := true
	for i, f := range rec[:n] {
		if f == "" {
			continue
		}
		if len(f) > c.opts.MaxCellLen {
			if k := utf8.RuneCountInString(f); k > c.opts.MaxCellLen {
				return nil, false, cellTooLong(row, i, k, c.opts.MaxCellLen)
			}
		}
		// The cells come zeroed: setting two fields is cheaper than a whole Cell.
		cells[i].Kind, cells[i].Text = Text, f
		if blank && !isSpace(f) {
			blank = false
		}
	}
	return cells, blank, nil
}

func (c *csvReader) readError(err error) error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	if errors.Is(err, io.EOF) {
		return io.EOF
	}
	return readErr(err)
}

func readErr(err error) error {
	return fmt.Errorf("read csv: %w", err)
}

func tooManyRows(row, limit int) *Error {
	return cellErrorf(CodeTooManyRows, row, 0, "the sheet has data beyond row %d, the limit", limit)
}

func cellTooLong(row, col, n, limit int) *Error {
	return cellErrorf(CodeCellTooLong, row, col+1, "cell has %d characters; the limit is %d", n, limit)
}

// isSpace reports whether s holds only white space.
func isSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r', '\v', '\f':
		default:
			if s[i] < utf8.RuneSelf {
				return false
			}
			return strings.TrimSpace(s[i:]) == ""
		}
	}
	return true
}

// sniffEncoding names the encoding of a CSV file from its first bytes and
// says how long its byte order mark is. Without a mark, text that is valid
// UTF-8 (or mostly so, with real multi-byte characters) is UTF-8; anything
// else is Windows-1252, what Excel on Windows writes for "CSV".
func sniffEncoding(head []byte) (enc string, bom int) {
	switch {
	case bytes.HasPrefix(head, []byte{0xEF, 0xBB, 0xBF}):
		return EncodingUTF8BOM, 3
	case bytes.HasPrefix(head, []byte{0xFF, 0xFE}):
		return EncodingUTF16LE, 2
	case bytes.HasPrefix(head, []byte{0xFE, 0xFF}):
		return EncodingUTF16BE, 2
	}
	if order := utf16Order(head); order != "" {
		return order, 0
	}
	b := head[:len(head)-incompleteSuffix(head)]
	if utf8.Valid(b) {
		return EncodingUTF8, 0
	}
	multi, invalid := 0, 0
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			invalid++
		case size > 1:
			multi++
		}
		b = b[size:]
	}
	if multi > invalid {
		return EncodingUTF8, 0
	}
	return EncodingWindows1252, 0
}

// sniffDelimiter picks the delimiter whose field counts are the most
// consistent across the first records of sample (reading quotes as CSV
// does), preferring more fields, then the order of delimiters. complete
// says sample is the whole file, so its last record is not cut off.
func sniffDelimiter(sample []byte, complete bool) byte {
	best, bestScore, bestFields := delimiters[0], 0.0, 1
	for _, d := range delimiters {
		counts := fieldCounts(sample, d, complete, 50)
		if len(counts) == 0 {
			continue
		}
		freq := map[int]int{}
		mode := 0
		for _, n := range counts {
			freq[n]++
			if freq[n] > freq[mode] || (freq[n] == freq[mode] && n > mode) {
				mode = n
			}
		}
		if mode <= 1 {
			continue
		}
		score := float64(freq[mode]) / float64(len(counts))
		if score > bestScore || (score == bestScore && mode > bestFields) {
			best, bestScore, bestFields = d, score, mode
		}
	}
	return best
}

// fieldCounts returns the number of fields of up to max non-blank records
// of sample split on d.
func fieldCounts(sample []byte, d byte, complete bool, max int) []int {
	var counts []int
	fields, quoted, atStart, blank := 1, false, true, true
	for i := 0; i < len(sample) && len(counts) < max; i++ {
		c := sample[i]
		if quoted {
			if c == '"' {
				if i+1 < len(sample) && sample[i+1] == '"' {
					i++
				} else {
					quoted = false
				}
			}
			continue
		}
		switch {
		case c == '\n' || c == '\r':
			if !blank {
				counts = append(counts, fields)
			}
			if c == '\r' && i+1 < len(sample) && sample[i+1] == '\n' {
				i++
			}
			fields, atStart, blank = 1, true, true
			continue
		case c == d:
			fields++
			blank = false
			atStart = true
			continue
		case c == '"' && atStart:
			quoted = true
		}
		atStart = false
		blank = false
	}
	if complete && !blank && len(counts) < max {
		counts = append(counts, fields)
	}
	return counts
}
