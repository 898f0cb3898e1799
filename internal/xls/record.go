package xls

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// BIFF8 record types ([MS-XLS] 2.3) this package reads.
const (
	recFormula    = 0x0006
	recEOF        = 0x000A
	recDateMode   = 0x0022
	recFilePass   = 0x002F
	recContinue   = 0x003C
	recBoundSheet = 0x0085
	recMulRK      = 0x00BD
	recRString    = 0x00D6
	recXF         = 0x00E0
	recSST        = 0x00FC
	recLabelSST   = 0x00FD
	recNumber     = 0x0203
	recLabel      = 0x0204
	recBoolErr    = 0x0205
	recString     = 0x0207
	recArray      = 0x0221
	recTable      = 0x0236
	recRK         = 0x027E
	recFormat     = 0x041E
	recShrFmla    = 0x04BC
	recBOF        = 0x0809

	// BOF records of BIFF2, BIFF3 and BIFF4, which this package refuses.
	recBOF2 = 0x0009
	recBOF3 = 0x0209
	recBOF4 = 0x0409
)

// BOF substream types.
const (
	bofGlobals   = 0x0005
	bofWorksheet = 0x0010
)

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// record is one BIFF record: its type, body and offset in the stream.
type record struct {
	typ  uint16
	body []byte
	off  int
}

// recordAt reads the record starting at off, checking that its body fits in
// the stream.
func recordAt(data []byte, off int) (record, error) {
	if off < 0 || off > len(data)-4 {
		return record{}, fmt.Errorf("%w: record header at offset %d runs past the end of the %d-byte stream", ErrCorrupt, off, len(data))
	}
	typ, n := le16(data[off:]), int(le16(data[off+2:]))
	if n > len(data)-off-4 {
		return record{}, fmt.Errorf("%w: record 0x%04X at offset %d claims %d bytes, %d remain", ErrCorrupt, typ, off, n, len(data)-off-4)
	}
	return record{typ: typ, body: data[off+4 : off+4+n], off: off}, nil
}

// next is the offset of the record after rec.
func (rec record) next() int { return rec.off + 4 + len(rec.body) }

// checkBOF checks that rec opens a BIFF8 substream of type want.
func checkBOF(rec record, want uint16) error {
	switch rec.typ {
	case recBOF:
	case recBOF2, recBOF3, recBOF4:
		return fmt.Errorf("%w: BIFF2-4 workbook (Excel 4.0 or older)", ErrUnsupported)
	default:
		return fmt.Errorf("%w: stream starts with record 0x%04X, not a BOF record", ErrUnsupported, rec.typ)
	}
	if len(rec.body) < 4 {
		return fmt.Errorf("%w: BOF record at offset %d has %d bytes", ErrCorrupt, rec.off, len(rec.body))
	}
	if v := le16(rec.body); v != 0x0600 {
		// 0x0500 is BIFF5/BIFF7 (Excel 5.0/95), whose 8-bit strings depend on
		// the CODEPAGE record; callers ask for an .xlsx or CSV instead.
		return fmt.Errorf("%w: BIFF version 0x%04X", ErrUnsupported, v)
	}
	if dt := le16(rec.body[2:]); dt != want {
		return fmt.Errorf("%w: BOF record at offset %d opens substream type 0x%04X, want 0x%04X", ErrCorrupt, rec.off, dt, want)
	}
	return nil
}

// continued reads a record body together with the CONTINUE records that
// extend it (the shared-string table, a formula's STRING result). Lengths
// and counts are checked against the bytes left, never trusted.
type continued struct {
	segs [][]byte
	seg  int // current segment
	pos  int // offset in the current segment
	off  int // stream offset of the first record, for error messages
}

// continuedAt collects the body of rec and of the CONTINUE records that
// follow it.
func continuedAt(data []byte, rec record) *continued {
	c := &continued{segs: [][]byte{rec.body}, off: rec.off}
	for next := rec.next(); ; {
		cont, err := recordAt(data, next)
		if err != nil || cont.typ != recContinue {
			return c
		}
		c.segs = append(c.segs, cont.body)
		next = cont.next()
	}
}

// atEnd reports whether every byte has been read.
func (c *continued) atEnd() bool {
	for c.seg < len(c.segs) && c.pos == len(c.segs[c.seg]) {
		if c.seg == len(c.segs)-1 {
			return true
		}
		c.seg, c.pos = c.seg+1, 0
	}
	return c.seg >= len(c.segs)
}

// byte reads one byte, crossing into the next segment as if the records were
// joined (string headers, rich-text runs and Far-East data continue so).
func (c *continued) byte() (byte, error) {
	if c.atEnd() {
		return 0, fmt.Errorf("%w: record at offset %d and its CONTINUE records end early", ErrCorrupt, c.off)
	}
	b := c.segs[c.seg][c.pos]
	c.pos++
	return b, nil
}

func (c *continued) uint16() (uint16, error) {
	lo, err := c.byte()
	if err != nil {
		return 0, err
	}
	hi, err := c.byte()
	return uint16(lo) | uint16(hi)<<8, err
}

func (c *continued) uint32() (uint32, error) {
	lo, err := c.uint16()
	if err != nil {
		return 0, err
	}
	hi, err := c.uint16()
	return uint32(lo) | uint32(hi)<<16, err
}

// skip passes over n bytes, failing if fewer remain.
func (c *continued) skip(n uint64) error {
	for n > 0 {
		if c.atEnd() {
			return fmt.Errorf("%w: record at offset %d and its CONTINUE records end %d bytes early", ErrCorrupt, c.off, n)
		}
		step := min(n, uint64(len(c.segs[c.seg])-c.pos))
		c.pos += int(step)
		n -= step
	}
	return nil
}

// chars reads cch characters stored one byte each (high false: the low
// bytes of UTF-16 code units, i.e. Latin-1) or as UTF-16LE. When the
// characters run into a CONTINUE record, that record starts with a new flag
// byte saying how the rest is stored.
func (c *continued) chars(cch int, high bool, units []uint16) ([]uint16, error) {
	for cch > 0 {
		if c.seg >= len(c.segs) {
			return units, fmt.Errorf("%w: string in record at offset %d runs past its CONTINUE records", ErrCorrupt, c.off)
		}
		seg := c.segs[c.seg]
		if c.pos == len(seg) {
			c.seg, c.pos = c.seg+1, 0
			if c.seg >= len(c.segs) || len(c.segs[c.seg]) == 0 {
				return units, fmt.Errorf("%w: string in record at offset %d runs past its CONTINUE records", ErrCorrupt, c.off)
			}
			high = c.segs[c.seg][0]&1 != 0
			c.pos = 1
			continue
		}
		avail := seg[c.pos:]
		if high {
			n := min(cch, len(avail)/2)
			if n == 0 {
				return units, fmt.Errorf("%w: UTF-16 character split across records at offset %d", ErrCorrupt, c.off)
			}
			for i := range n {
				units = append(units, le16(avail[2*i:]))
			}
			c.pos += 2 * n
			cch -= n
		} else {
			n := min(cch, len(avail))
			for _, b := range avail[:n] {
				units = append(units, uint16(b))
			}
			c.pos += n
			cch -= n
		}
	}
	return units, nil
}

// Flags of the option byte that precedes a string's characters.
const (
	strHighByte = 0x01 // characters are UTF-16LE, not one byte each
	strExtSt    = 0x04 // Far-East phonetic data follows the characters
	strRichSt   = 0x08 // rich-text formatting runs follow the characters
)

// richString reads an XLUnicodeRichExtendedString (an SST entry) and skips
// its formatting runs and phonetic data. units is a scratch buffer.
func (c *continued) richString(units []uint16) (string, []uint16, error) {
	cch, err := c.uint16()
	if err != nil {
		return "", units, err
	}
	flags, err := c.byte()
	if err != nil {
		return "", units, err
	}
	var runs uint16
	var ext uint32
	if flags&strRichSt != 0 {
		if runs, err = c.uint16(); err != nil {
			return "", units, err
		}
	}
	if flags&strExtSt != 0 {
		if ext, err = c.uint32(); err != nil {
			return "", units, err
		}
	}
	units, err = c.chars(int(cch), flags&strHighByte != 0, units[:0])
	if err != nil {
		return "", units, err
	}
	if err := c.skip(4*uint64(runs) + uint64(ext)); err != nil {
		return "", units, err
	}
	return decodeUTF16(units), units, nil
}

// unicodeString reads an XLUnicodeString: a 16-bit character count, an
// option byte and the characters (LABEL, FORMAT, STRING records).
func (c *continued) unicodeString() (string, error) {
	cch, err := c.uint16()
	if err != nil {
		return "", err
	}
	flags, err := c.byte()
	if err != nil {
		return "", err
	}
	units, err := c.chars(int(cch), flags&strHighByte != 0, nil)
	if err != nil {
		return "", err
	}
	return decodeUTF16(units), nil
}

// shortString reads a ShortXLUnicodeString (8-bit count) from one record
// body, as sheet names are stored.
func shortString(b []byte, off int) (string, error) {
	if len(b) < 2 {
		return "", fmt.Errorf("%w: sheet name in record at offset %d is missing", ErrCorrupt, off)
	}
	cch, high := int(b[0]), b[1]&strHighByte != 0
	c := &continued{segs: [][]byte{b[2:]}, off: off}
	units, err := c.chars(cch, high, nil)
	if err != nil {
		return "", err
	}
	return decodeUTF16(units), nil
}

// decodeUTF16 turns UTF-16 code units into a string; unpaired surrogates
// become U+FFFD.
func decodeUTF16(units []uint16) string {
	ascii := true
	for _, u := range units {
		if u >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	var b strings.Builder
	b.Grow(len(units))
	if ascii {
		for _, u := range units {
			b.WriteByte(byte(u))
		}
		return b.String()
	}
	for i := 0; i < len(units); i++ {
		r := rune(units[i])
		if utf16.IsSurrogate(r) && i+1 < len(units) {
			if pair := utf16.DecodeRune(r, rune(units[i+1])); pair != utf8.RuneError {
				b.WriteRune(pair)
				i++
				continue
			}
		}
		// WriteRune writes U+FFFD for a lone surrogate.
		b.WriteRune(r)
	}
	return b.String()
}
