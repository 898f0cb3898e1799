package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScanner is a small pull tokenizer for the SpreadsheetML parts that grow
// with the data (worksheets, shared strings). encoding/xml allocates for
// every token and is several times slower than this; the parts read here
// need only elements, attributes, character data, the predefined and
// numeric entities, CDATA and comments. No DTD is processed, so no entity
// can expand.
type xmlScanner struct {
	r    io.Reader
	buf  []byte
	pos  int // next byte to read in buf
	end  int // end of the bytes read into buf
	eof  bool
	rerr error // a read error other than io.EOF

	// The last tag read: its local name and attributes (raw values) point
	// into buf and stay valid until the next call.
	name      []byte
	attrs     []xmlAttr
	selfClose bool

	text      []byte // scratch for character data
	textLimit int
	textOver  bool
}

var newline = []byte{'\n'}

type xmlAttr struct {
	name, value []byte // local name, raw value
}

type xmlToken uint8

const (
	tokEOF xmlToken = iota
	tokStart
	tokEnd
)

// maxTagLen bounds one tag; real tags are short, and the bound keeps a
// malformed part from growing the buffer without end.
const maxTagLen = 1 << 20

var errXMLSyntax = errors.New("malformed XML")

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: r, buf: make([]byte, 64<<10)}
}

// fill reads more bytes, keeping buf[pos:end]; it reports false when no more
// will come.
func (s *xmlScanner) fill() bool {
	if s.eof || s.rerr != nil {
		return false
	}
	if s.pos > 0 {
		s.end = copy(s.buf, s.buf[s.pos:s.end])
		s.pos = 0
	}
	if s.end == len(s.buf) {
		if len(s.buf) >= maxTagLen {
			s.rerr = fmt.Errorf("%w: a tag longer than %d bytes", errXMLSyntax, maxTagLen)
			return false
		}
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	for range 100 {
		n, err := s.r.Read(s.buf[s.end:])
		s.end += n
		if errors.Is(err, io.EOF) {
			s.eof = true
		} else if err != nil {
			s.rerr = err
		}
		if n > 0 {
			return true
		}
		if err != nil {
			return false
		}
	}
	s.rerr = io.ErrNoProgress
	return false
}

// ensure makes n bytes available from pos if the stream has them.
func (s *xmlScanner) ensure(n int) bool {
	for s.end-s.pos < n {
		if !s.fill() {
			return false
		}
	}
	return true
}

// err is the error to report when the stream ended: a read error, or an
// unexpected end of the data.
func (s *xmlScanner) err() error {
	if s.rerr != nil {
		return s.rerr
	}
	return io.ErrUnexpectedEOF
}

// next skips character data, comments, processing instructions and
// declarations up to the next tag and reads it. At the end of the stream it
// returns tokEOF with a nil error.
func (s *xmlScanner) next() (xmlToken, error) {
	for {
		i := bytes.IndexByte(s.buf[s.pos:s.end], '<')
		if i < 0 {
			s.pos = s.end
			if !s.fill() {
				if s.rerr != nil {
					return tokEOF, s.rerr
				}
				return tokEOF, nil
			}
			continue
		}
		s.pos += i
		if !s.ensure(2) {
			return tokEOF, s.err()
		}
		switch s.buf[s.pos+1] {
		case '?':
			if _, err := s.skipPast("?>"); err != nil {
				return tokEOF, err
			}
			continue
		case '!':
			if err := s.skipMarkup(); err != nil {
				return tokEOF, err
			}
			continue
		}
		return s.readTag()
	}
}

// skipPast moves pos past the next occurrence of end and returns how many
// bytes preceded it; they stay in buf just before the new pos.
func (s *xmlScanner) skipPast(end string) (int, error) {
	searched := 0
	for {
		if i := bytes.Index(s.buf[s.pos+searched:s.end], []byte(end)); i >= 0 {
			n := searched + i
			s.pos += n + len(end)
			return n, nil
		}
		// The bytes that could start end are searched again after the refill.
		searched = max(0, s.end-s.pos-len(end)+1)
		if !s.fill() {
			return 0, s.err()
		}
	}
}

// skipMarkup skips a comment, CDATA section or declaration starting at pos.
func (s *xmlScanner) skipMarkup() error {
	s.ensure(9)
	rest := s.buf[s.pos:s.end]
	switch {
	case bytes.HasPrefix(rest, []byte("<!--")):
		_, err := s.skipPast("-->")
		return err
	case bytes.HasPrefix(rest, []byte("<![CDATA[")):
		_, err := s.skipPast("]]>")
		return err
	}
	// A declaration such as <!DOCTYPE ...>, possibly with an internal
	// subset in brackets; its content is ignored.
	depth := 0
	for i := s.pos + 2; ; i++ {
		if i >= s.end {
			k := i - s.pos
			if !s.fill() {
				return s.err()
			}
			i = s.pos + k
		}
		switch s.buf[i] {
		case '[':
			depth++
		case ']':
			depth--
		case '>':
			if depth <= 0 {
				s.pos = i + 1
				return nil
			}
		}
	}
}

// readTag reads the start or end tag at pos.
func (s *xmlScanner) readTag() (xmlToken, error) {
	// Find the closing '>' outside attribute quotes.
	var quote byte
	i := s.pos + 1
	for {
		if i >= s.end {
			k := i - s.pos
			if !s.fill() {
				return tokEOF, s.err()
			}
			i = s.pos + k
			continue
		}
		c := s.buf[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			} else if j := bytes.IndexByte(s.buf[i:s.end], quote); j >= 0 {
				i += j
				continue
			} else {
				i = s.end
				continue
			}
		} else if c == '"' || c == '\'' {
			quote = c
		} else if c == '>' {
			break
		}
		i++
	}
	tag := s.buf[s.pos+1 : i]
	s.pos = i + 1
	if len(tag) > 0 && tag[0] == '/' {
		s.name = localName(trimSpaceRight(tag[1:]))
		s.attrs = s.attrs[:0]
		s.selfClose = false
		if len(s.name) == 0 {
			return tokEOF, fmt.Errorf("%w: an end tag without a name", errXMLSyntax)
		}
		return tokEnd, nil
	}
	s.selfClose = len(tag) > 0 && tag[len(tag)-1] == '/'
	if s.selfClose {
		tag = tag[:len(tag)-1]
	}
	n := 0
	for n < len(tag) && !isXMLSpace(tag[n]) {
		n++
	}
	if n == 0 {
		return tokEOF, fmt.Errorf("%w: a tag without a name", errXMLSyntax)
	}
	s.name = localName(tag[:n])
	return tokStart, s.parseAttrs(tag[n:])
}

func (s *xmlScanner) parseAttrs(b []byte) error {
	s.attrs = s.attrs[:0]
	for {
		for len(b) > 0 && isXMLSpace(b[0]) {
			b = b[1:]
		}
		if len(b) == 0 {
			return nil
		}
		eq := bytes.IndexByte(b, '=')
		if eq <= 0 {
			return fmt.Errorf("%w: an attribute without a value", errXMLSyntax)
		}
		name := trimSpaceRight(b[:eq])
		b = b[eq+1:]
		for len(b) > 0 && isXMLSpace(b[0]) {
			b = b[1:]
		}
		if len(b) == 0 || (b[0] != '"' && b[0] != '\'') {
			return fmt.Errorf("%w: an unquoted attribute value", errXMLSyntax)
		}
		q := b[0]
		end := bytes.IndexByte(b[1:], q)
		if end < 0 {
			return fmt.Errorf("%w: an unterminated attribute value", errXMLSyntax)
		}
		s.attrs = append(s.attrs, xmlAttr{name: localName(name), value: b[1 : 1+end]})
		b = b[2+end:]
	}
}

// attr returns the raw value of the attribute with the given local name.
func (s *xmlScanner) attr(name string) ([]byte, bool) {
	for _, a := range s.attrs {
		if string(a.name) == name {
			return a.value, true
		}
	}
	return nil, false
}

// readText reads the character data of the element whose start tag was just
// read, up to its next child or end tag, decoding entities and CDATA and
// normalising line ends as XML requires. It keeps at most limit bytes and
// reports whether there were more.
func (s *xmlScanner) readText(limit int) ([]byte, bool, error) {
	s.text, s.textLimit, s.textOver = s.text[:0], limit, false
	for {
		seg := s.buf[s.pos:s.end]
		lt := bytes.IndexByte(seg, '<')
		if lt < 0 {
			// Hold back what could be an entity or a CRLF cut by the end of
			// the buffer.
			keep := 0
			if amp := bytes.LastIndexByte(seg, '&'); amp >= 0 && len(seg)-amp < 16 && bytes.IndexByte(seg[amp:], ';') < 0 {
				keep = len(seg) - amp
			} else if len(seg) > 0 && seg[len(seg)-1] == '\r' {
				keep = 1
			}
			seg = seg[:len(seg)-keep]
			s.appendDecoded(seg)
			s.pos += len(seg)
			if !s.fill() {
				return s.text, s.textOver, s.err()
			}
			continue
		}
		s.appendDecoded(seg[:lt])
		s.pos += lt
		if !s.ensure(9) && s.end-s.pos < 2 {
			return s.text, s.textOver, s.err()
		}
		rest := s.buf[s.pos:s.end]
		switch {
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			s.pos += 9
			n, err := s.skipPast("]]>")
			if err != nil {
				return s.text, s.textOver, err
			}
			s.appendLines(s.buf[s.pos-3-n : s.pos-3])
		case bytes.HasPrefix(rest, []byte("<!--")):
			if _, err := s.skipPast("-->"); err != nil {
				return s.text, s.textOver, err
			}
		default:
			return s.text, s.textOver, nil
		}
	}
}

// add appends character data to text, up to textLimit bytes.
func (s *xmlScanner) add(b []byte) {
	if s.textOver {
		return
	}
	if len(s.text)+len(b) > s.textLimit {
		s.textOver = true
		b = b[:s.textLimit-len(s.text)]
	}
	s.text = append(s.text, b...)
}

// appendDecoded decodes entities and line ends of character data.
func (s *xmlScanner) appendDecoded(b []byte) {
	for len(b) > 0 {
		amp := bytes.IndexByte(b, '&')
		if amp < 0 {
			s.appendLines(b)
			return
		}
		s.appendLines(b[:amp])
		b = b[amp:]
		semi := bytes.IndexByte(b, ';')
		if semi < 0 || semi > 12 {
			s.add(b[:1]) // a lone ampersand is kept as written
			b = b[1:]
			continue
		}
		if r, ok := entity(b[1:semi]); ok {
			var tmp [utf8.UTFMax]byte
			s.add(tmp[:utf8.EncodeRune(tmp[:], r)])
		} else {
			s.add(b[:semi+1])
		}
		b = b[semi+1:]
	}
}

// appendLines appends b with CRLF and lone CR turned into LF.
func (s *xmlScanner) appendLines(b []byte) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			s.add(b)
			return
		}
		s.add(b[:i])
		s.add(newline)
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
}

func entity(name []byte) (rune, bool) {
	switch string(name) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(name) < 2 || name[0] != '#' {
		return 0, false
	}
	var n uint64
	var err error
	if name[1] == 'x' || name[1] == 'X' {
		n, err = strconv.ParseUint(string(name[2:]), 16, 32)
	} else {
		n, err = strconv.ParseUint(string(name[1:]), 10, 32)
	}
	if err != nil {
		return 0, false
	}
	r := rune(n)
	if !utf8.ValidRune(r) {
		return utf8.RuneError, true
	}
	return r, true
}

// skipElement skips the content of the element whose start tag was just
// read, up to and including its end tag.
func (s *xmlScanner) skipElement() error {
	if s.selfClose {
		return nil
	}
	depth := 1
	for {
		tok, err := s.next()
		if err != nil {
			return err
		}
		switch tok {
		case tokEOF:
			return io.ErrUnexpectedEOF
		case tokStart:
			if !s.selfClose {
				depth++
			}
		case tokEnd:
			depth--
			if depth == 0 {
				return nil
			}
		}
	}
}

func localName(b []byte) []byte {
	if i := bytes.LastIndexByte(b, ':'); i >= 0 {
		return b[i+1:]
	}
	return b
}

func trimSpaceRight(b []byte) []byte {
	for len(b) > 0 && isXMLSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isXMLSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// unescapeOOXML decodes the _xHHHH_ escapes Office uses in cell text for
// characters XML cannot carry (control characters, a CR kept as is);
// _x005F_ is an escaped underscore.
func unescapeOOXML(b []byte) []byte {
	if bytes.Index(b, []byte("_x")) < 0 {
		return b
	}
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		i := bytes.Index(b, []byte("_x"))
		if i < 0 || len(b)-i < 7 {
			out = append(out, b...)
			break
		}
		out = append(out, b[:i]...)
		b = b[i:]
		if b[6] != '_' || !isHex(b[2:6]) {
			out = append(out, b[0])
			b = b[1:]
			continue
		}
		v, _ := strconv.ParseUint(string(b[2:6]), 16, 16)
		r := rune(v)
		b = b[7:]
		// A UTF-16 surrogate pair is written as two escapes.
		if r >= 0xD800 && r < 0xDC00 && len(b) >= 7 && b[0] == '_' && b[1] == 'x' && b[6] == '_' && isHex(b[2:6]) {
			lo, _ := strconv.ParseUint(string(b[2:6]), 16, 16)
			if lo >= 0xDC00 && lo < 0xE000 {
				r = 0x10000 + (r-0xD800)<<10 + rune(lo-0xDC00)
				b = b[7:]
			}
		}
		if !utf8.ValidRune(r) {
			r = utf8.RuneError
		}
		out = utf8.AppendRune(out, r)
	}
	return out
}

func isHex(b []byte) bool {
	for _, c := range b {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
