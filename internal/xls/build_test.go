package xls

import (
	"bytes"
	"encoding/binary"
	"math"
	"unicode/utf16"
)

// This file builds small BIFF8 workbooks and compound files byte by byte,
// for the cases no spreadsheet program writes on request: damaged lengths,
// hostile counts, out-of-order rows.

// rec is one BIFF record to write.
type rec struct {
	typ  uint16
	body []byte
}

// le encodes values little-endian: integers, float64 and []byte.
func le(parts ...any) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		if err := binary.Write(&b, binary.LittleEndian, p); err != nil {
			panic(err)
		}
	}
	return b.Bytes()
}

// xlString encodes an XLUnicodeString: 16-bit count, option byte, characters
// (one byte each when every character is Latin-1, else UTF-16LE).
func xlString(s string) []byte {
	units := utf16.Encode([]rune(s))
	high := false
	for _, u := range units {
		if u > 0xFF {
			high = true
		}
	}
	return append(le(uint16(len(units))), chars(units, high)...)
}

// chars encodes the option byte and characters of a string.
func chars(units []uint16, high bool) []byte {
	if high {
		return append([]byte{strHighByte}, le(units)...)
	}
	b := []byte{0}
	for _, u := range units {
		b = append(b, byte(u))
	}
	return b
}

func bof(dt uint16) rec { return rec{recBOF, le(uint16(0x0600), dt, make([]byte, 12))} }
func eof() rec          { return rec{recEOF, nil} }

// xf is an XF record using number format ifmt.
func xf(ifmt uint16) rec { return rec{recXF, le(uint16(0), ifmt, make([]byte, 16))} }

func format(ifmt uint16, code string) rec {
	return rec{recFormat, append(le(ifmt), xlString(code)...)}
}

// sst is a shared-string table in one record.
func sst(strs ...string) rec {
	body := le(uint32(len(strs)), uint32(len(strs)))
	for _, s := range strs {
		body = append(body, xlString(s)...)
	}
	return rec{recSST, body}
}

func labelSST(row, col, ixf uint16, i uint32) rec {
	return rec{recLabelSST, le(row, col, ixf, i)}
}
func number(row, col, ixf uint16, f float64) rec {
	return rec{recNumber, le(row, col, ixf, f)}
}
func rkCell(row, col, ixf uint16, v uint32) rec { return rec{recRK, le(row, col, ixf, v)} }
func label(row, col, ixf uint16, s string) rec {
	return rec{recLabel, append(le(row, col, ixf), xlString(s)...)}
}
func boolErr(row, col uint16, v byte, isErr bool) rec {
	e := byte(0)
	if isErr {
		e = 1
	}
	return rec{recBoolErr, append(le(row, col, uint16(0)), v, e)}
}

// formula is a FORMULA record with an 8-byte cached result and a one-token
// formula (the tokens are never read).
func formula(row, col, ixf uint16, result []byte) rec {
	return rec{recFormula, append(append(le(row, col, ixf), result...), le(uint16(0), uint32(0), uint16(1), byte(0x03))...)}
}
func numResult(f float64) []byte { return le(math.Float64bits(f)) }

// specialResult is a non-numeric cached result: 0 string, 1 bool, 2 error, 3 empty.
func specialResult(kind, v byte) []byte { return []byte{kind, 0, v, 0, 0, 0, 0xFF, 0xFF} }

// testSheet is one sheet of a built workbook; kind is its BOUNDSHEET type.
type testSheet struct {
	name    string
	kind    byte
	hidden  bool
	records []rec
}

// workbookBytes writes a Workbook stream: globals (BOF, the given records,
// one BOUNDSHEET per sheet, EOF), then each sheet's substream.
func workbookBytes(globals []rec, sheets ...testSheet) []byte {
	var b bytes.Buffer
	write := func(r rec) {
		b.Write(le(r.typ, uint16(len(r.body))))
		b.Write(r.body)
	}
	write(bof(bofGlobals))
	for _, r := range globals {
		write(r)
	}
	patch := make([]int, len(sheets))
	for i, s := range sheets {
		patch[i] = b.Len() + 4
		state := byte(0)
		if s.hidden {
			state = 1
		}
		name := xlString(s.name)
		write(rec{recBoundSheet, append(le(uint32(0), state, s.kind, name[0]), name[2:]...)}) // 8-bit count
	}
	write(eof())
	for i, s := range sheets {
		binary.LittleEndian.PutUint32(b.Bytes()[patch[i]:], uint32(b.Len()))
		dt := uint16(bofWorksheet)
		if s.kind == 2 {
			dt = 0x0020
		}
		write(bof(dt))
		for _, r := range s.records {
			write(r)
		}
		write(eof())
	}
	return b.Bytes()
}

// compoundFile wraps stream as stream name of a compound file: version 3
// with 512-byte sectors, or version 4 with 4096-byte sectors when the stream
// is too large for the 109 FAT sectors a header lists. size, when not
// negative, overrides the stream size written in the directory.
func compoundFile(name string, stream []byte, size int64) []byte {
	const (
		endOfChain = 0xFFFFFFFE
		free       = 0xFFFFFFFF
		fatSect    = 0xFFFFFFFD
		noStream   = 0xFFFFFFFF
	)
	version, shift := uint16(3), uint16(9)
	if len(stream) > 6<<20 {
		version, shift = 4, 12
	}
	sector := 1 << shift
	// Streams under 4096 bytes would live in the mini stream; pad past it.
	data := append([]byte(nil), stream...)
	if len(data) < 4096 {
		data = append(data, make([]byte, 4096-len(data))...)
	}
	if size < 0 {
		size = int64(len(data))
	}
	nData := (len(data) + sector - 1) / sector
	data = append(data, make([]byte, nData*sector-len(data))...)
	nFAT := 1
	for nFAT+1+nData > nFAT*sector/4 {
		nFAT++
	}
	if nFAT > 109 {
		panic("compoundFile: stream too large for a header-only DIFAT")
	}
	dirSect := nFAT
	first := nFAT + 1

	header := le(
		[]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 16),
		uint16(0x3E), version, uint16(0xFFFE), shift, uint16(6), make([]byte, 6),
		uint32(0), uint32(nFAT), uint32(dirSect), uint32(0), uint32(4096),
		uint32(endOfChain), uint32(0), uint32(endOfChain), uint32(0),
	)
	for i := range 109 {
		if i < nFAT {
			header = append(header, le(uint32(i))...)
		} else {
			header = append(header, le(uint32(free))...)
		}
	}
	header = append(header, make([]byte, sector-len(header))...)

	fat := make([]uint32, nFAT*sector/4)
	for i := range fat {
		fat[i] = free
	}
	for i := range nFAT {
		fat[i] = fatSect
	}
	fat[dirSect] = endOfChain
	for i := range nData {
		fat[first+i] = uint32(first + i + 1)
	}
	fat[first+nData-1] = endOfChain

	entry := func(name string, typ byte, child, start uint32, size uint64) []byte {
		units := utf16.Encode([]rune(name))
		raw := make([]uint16, 32)
		copy(raw, units)
		return le(raw, uint16(2*(len(units)+1)), typ, byte(1),
			uint32(noStream), uint32(noStream), child, make([]byte, 16+4+16), start, size)
	}
	dir := append(entry("Root Entry", 5, 1, endOfChain, 0), entry(name, 2, noStream, uint32(first), uint64(size))...)
	dir = append(dir, make([]byte, sector-len(dir))...)

	out := append(header, le(fat)...)
	out = append(out, dir...)
	return append(out, data...)
}

// xlsFile is a compound file holding stream as its Workbook stream.
func xlsFile(stream []byte) []byte { return compoundFile("Workbook", stream, -1) }
