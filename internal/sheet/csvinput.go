package sheet

import (
	"bytes"
	"io"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// csvInput turns the bytes of a CSV file into what encoding/csv reads best:
// UTF-8 with "\n" line ends. CRLF and lone CR (old Mac files) become LF.
// When the file was judged UTF-8 (fallback), a byte that is not part of a
// valid UTF-8 sequence is read as Windows-1252, so a file that turns out to
// mix encodings past the sniffed start still reads sanely instead of
// producing replacement characters. Its guard stops the stream before a
// runaway field (an unclosed quote, a line of millions of delimiters) makes
// encoding/csv buffer the rest of the file.
type csvInput struct {
	src      io.Reader
	fallback bool

	buf     []byte // bytes read from src; buf[:carry] is an incomplete UTF-8 sequence
	carry   int
	dec     []byte // scratch for fallback decoding
	out     []byte // processed bytes not yet returned
	outPos  int
	afterCR bool // the last byte processed was a CR, so a following LF is dropped
	err     error
	guard   fieldGuard
}

func newCSVInput(src io.Reader, fallback bool, g fieldGuard) *csvInput {
	return &csvInput{
		src:      src,
		fallback: fallback,
		buf:      make([]byte, 32<<10),
		out:      make([]byte, 0, 32<<10),
		guard:    g,
	}
}

func (c *csvInput) Read(p []byte) (int, error) {
	for c.outPos == len(c.out) {
		if c.err != nil {
			return 0, c.err
		}
		c.refill()
	}
	n := copy(p, c.out[c.outPos:])
	c.outPos += n
	return n, nil
}

func (c *csvInput) refill() {
	c.out, c.outPos = c.out[:0], 0
	n, err := c.src.Read(c.buf[c.carry:])
	for n == 0 && err == nil {
		n, err = c.src.Read(c.buf[c.carry:])
	}
	data := c.buf[:c.carry+n]
	c.carry = 0
	if c.fallback {
		var tail []byte
		if err == nil {
			k := incompleteSuffix(data)
			data, tail = data[:len(data)-k], data[len(data)-k:]
		}
		if utf8.Valid(data) {
			c.out = c.normalize(c.out, data)
		} else {
			c.dec = decodeFallback(c.dec[:0], data)
			c.out = c.normalize(c.out, c.dec)
		}
		c.carry = copy(c.buf, tail)
	} else {
		c.out = c.normalize(c.out, data)
	}
	if i, gerr := c.guard.scan(c.out); gerr != nil {
		c.out = c.out[:i]
		c.err = gerr
		return
	}
	if err != nil {
		c.err = err
	}
}

// normalize appends src to dst with CRLF and lone CR turned into LF.
func (c *csvInput) normalize(dst, src []byte) []byte {
	for len(src) > 0 {
		if c.afterCR {
			c.afterCR = false
			if src[0] == '\n' {
				src = src[1:]
				continue
			}
		}
		i := bytes.IndexByte(src, '\r')
		if i < 0 {
			return append(dst, src...)
		}
		dst = append(dst, src[:i]...)
		dst = append(dst, '\n')
		c.afterCR = true
		src = src[i+1:]
	}
	return dst
}

// decodeFallback appends src to dst, keeping valid UTF-8 and reading every
// other byte as a Windows-1252 character.
func decodeFallback(dst, src []byte) []byte {
	for len(src) > 0 {
		r, size := utf8.DecodeRune(src)
		if r == utf8.RuneError && size <= 1 {
			dst = utf8.AppendRune(dst, charmap.Windows1252.DecodeByte(src[0]))
			src = src[1:]
			continue
		}
		dst = append(dst, src[:size]...)
		src = src[size:]
	}
	return dst
}

// fieldGuard follows encoding/csv's reading of the stream (with LazyQuotes)
// just far enough to stop a runaway before encoding/csv buffers it: a quoted
// field whose closing quote is missing, a line of endless text or endless
// delimiters. It jumps from quote to quote and counts line ends and
// delimiters with the bytes package's vectorised searches, so it costs a
// small fraction of the parse. Exact limits (characters per cell, columns
// with data) are applied to each record as it is read; the guard only
// refuses what is certainly beyond them, with the row and column it is in.
type fieldGuard struct {
	delim    byte
	hardCols int // more fields than this in a record, even empty, are refused
	maxBytes int // a field longer than this many bytes has more than maxChars characters
	maxChars int
	maxCols  int // the limit stated in messages

	off        int64 // stream offset of the chunk being scanned
	fieldStart int64 // stream offset where the current field starts
	quoted     bool  // inside a quoted field
	afterQuote bool  // inside a quoted field, just after a quote
	row        int   // spreadsheet row of the record being read, 1-based
	field      int   // 0-based index of the field being read
}

func newFieldGuard(delim byte, o Options) fieldGuard {
	return fieldGuard{
		delim:    delim,
		hardCols: max(o.MaxColumns, 16384),
		// A character takes at most 4 bytes, a doubled quote 2 bytes for 1,
		// and the enclosing quotes 2 more.
		maxBytes: utf8.UTFMax*o.MaxCellLen + 2,
		maxChars: o.MaxCellLen,
		maxCols:  o.MaxColumns,
		row:      1,
	}
}

// scan follows b, the next chunk of the stream; on a violation it returns
// the offset in b up to which the stream may be passed on, and the error.
func (g *fieldGuard) scan(b []byte) (int, *Error) {
	defer func() { g.off += int64(len(b)) }()
	i := 0
	for i < len(b) {
		if g.quoted {
			if g.afterQuote {
				g.afterQuote = false
				switch b[i] {
				case '"': // a doubled quote
				case g.delim:
					g.quoted = false
					if err := g.nextFields(1, i); err != nil {
						return i, err
					}
				case '\n':
					g.quoted = false
					g.nextRows(1, 0, i)
				default: // a bare quote inside the field: it goes on
				}
				i++
				continue
			}
			j := bytes.IndexByte(b[i:], '"')
			if j < 0 {
				j = len(b) - i
			}
			if g.off+int64(i+j)-g.fieldStart > int64(g.maxBytes) {
				return i + j, g.tooLong(true)
			}
			if i+j == len(b) {
				return len(b), nil
			}
			i += j + 1
			g.afterQuote = true
			continue
		}
		// Outside quotes up to the next quote: count rows and fields.
		end := len(b)
		if j := bytes.IndexByte(b[i:], '"'); j >= 0 {
			end = i + j
		}
		seg := b[i:end]
		if nl := bytes.LastIndexByte(seg, '\n'); nl >= 0 {
			first := bytes.IndexByte(seg, '\n')
			if err := g.nextFields(bytes.Count(seg[:first], []byte{g.delim}), i+first); err != nil {
				return i, err
			}
			tail := seg[nl+1:]
			g.nextRows(bytes.Count(seg[:nl+1], []byte{'\n'}), bytes.Count(tail, []byte{g.delim}), i+nl)
			if d := bytes.LastIndexByte(tail, g.delim); d >= 0 {
				g.fieldStart = g.off + int64(i+nl+1+d+1)
			}
		} else if n := bytes.Count(seg, []byte{g.delim}); n > 0 {
			if err := g.nextFields(n, i+bytes.LastIndexByte(seg, g.delim)); err != nil {
				return i, err
			}
		}
		if g.off+int64(end)-g.fieldStart > int64(g.maxBytes) {
			return end, g.tooLong(false)
		}
		if end == len(b) {
			return len(b), nil
		}
		// A quote opens a quoted field only as the field's first byte;
		// elsewhere encoding/csv (lazily) keeps it as text.
		if g.off+int64(end) == g.fieldStart {
			g.quoted = true
		}
		i = end + 1
	}
	return len(b), nil
}

// nextFields moves past n delimiters, the last at offset at of the chunk.
func (g *fieldGuard) nextFields(n, at int) *Error {
	if n == 0 {
		return nil
	}
	g.field += n
	g.fieldStart = g.off + int64(at) + 1
	if g.field >= g.hardCols {
		return cellErrorf(CodeTooManyColumns, g.row, 0, "the row has more than %d columns; the limit is %d", g.hardCols, g.maxCols)
	}
	return nil
}

// nextRows moves past n line ends, the last at offset at of the chunk,
// into a record that has had fields delimiters so far.
func (g *fieldGuard) nextRows(n, fields, at int) {
	g.row += n
	g.field = fields
	g.fieldStart = g.off + int64(at) + 1
}

func (g *fieldGuard) tooLong(quoted bool) *Error {
	if quoted {
		return cellErrorf(CodeCellTooLong, g.row, g.field+1,
			"a quoted cell runs on for more than %d characters, the limit; a closing quote may be missing", g.maxChars)
	}
	return cellErrorf(CodeCellTooLong, g.row, g.field+1, "cell has more than %d characters; the limit is %d", g.maxChars, g.maxChars)
}

func tooManyColumns(row, col, limit int) *Error {
	return cellErrorf(CodeTooManyColumns, row, col+1, "the row has data in column %s; the limit is %d columns", ColumnLetter(col), limit)
}
