// Package xls reads cell values from legacy Excel 97–2003 (.xls, BIFF8)
// workbooks: the text, numbers, booleans, error values and cached formula
// results of each worksheet, and whether a number is formatted as a date.
//
// It reads what a bulk update needs and nothing more: no styles, merged
// cells, comments or charts, and it does not recalculate formulas. Every
// length and count read from the file is checked against the bytes that are
// really there, so a corrupt or hostile file yields an error, never a panic or
// an allocation larger than the file.
package xls

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/richardlehane/mscfb"
)

var (
	// ErrEncrypted reports a password-protected workbook: a BIFF8 workbook
	// with a FILEPASS record, or an encrypted Office Open XML package (which
	// also travels in a compound file).
	ErrEncrypted = errors.New("xls: workbook is password-protected")
	// ErrCorrupt reports a file that claims to be a BIFF8 workbook but whose
	// structure is damaged; it is wrapped with where the damage was found.
	ErrCorrupt = errors.New("xls: corrupt workbook")
	// ErrUnsupported reports a file that is not a BIFF8 workbook: not a
	// compound file, a compound file without a workbook stream, or a workbook
	// written in BIFF5 (Excel 5.0/95) or older.
	ErrUnsupported = errors.New("xls: not an Excel 97-2003 (BIFF8) workbook")
)

// maxStream bounds the Workbook stream read into memory. BIFF8 caps a sheet
// at 65,536 rows by 256 columns; real workbooks stay far below this.
const maxStream = 256 << 20

// ValueType is what a cell holds.
type ValueType uint8

const (
	Blank      ValueType = iota // no value: a gap between cells, or an empty cell
	String                      // S holds the text
	Number                      // F holds the value; Date says it is formatted as a date
	Bool                        // F is 1 for TRUE and 0 for FALSE
	ErrorValue                  // S holds the error as Excel shows it, e.g. "#DIV/0!"
)

// Value is one cell's value. For a formula it is the result the writing
// program cached; an empty-string result is a String with S "".
type Value struct {
	Type ValueType
	S    string
	F    float64
	// Date: a Number whose cell format is a date or time format. F is then a
	// serial date in the workbook's date system (see Workbook.Date1904).
	Date bool
}

// Workbook is an opened BIFF8 workbook. Its methods only read, so one
// Workbook may serve several Rows at once.
type Workbook struct {
	data     []byte   // the whole Workbook stream
	sheets   []sheet  // worksheets in workbook order
	sst      []string // shared-string table
	xfDate   []bool   // per XF record: its number format shows a date
	date1904 bool
}

type sheet struct {
	name    string
	offset  int // of the sheet's BOF record in data
	visible bool
}

// Open reads the workbook of a compound file of size bytes. It reads the
// Workbook stream into memory (BIFF8 streams are bounded) and parses the
// workbook globals; sheets are parsed when Rows is called.
func Open(r io.ReaderAt, size int64) (*Workbook, error) {
	data, err := workbookStream(r, size)
	if err != nil {
		return nil, err
	}
	w, err := parseGlobals(data)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Sheets returns the worksheet names in workbook order, hidden ones included;
// chart sheets, macro sheets and VBA modules are left out.
func (w *Workbook) Sheets() []string {
	names := make([]string, len(w.sheets))
	for i, s := range w.sheets {
		names[i] = s.name
	}
	return names
}

// Visible reports whether worksheet i is shown as a tab (not hidden or very
// hidden). It is false for an index out of range.
func (w *Workbook) Visible(i int) bool {
	return i >= 0 && i < len(w.sheets) && w.sheets[i].visible
}

// Date1904 reports whether the workbook counts serial dates from 1904-01-01
// (the old Macintosh system) instead of 1899-12-30.
func (w *Workbook) Date1904() bool { return w.date1904 }

var cfbSignature = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

// workbookStream finds the workbook stream of a compound file and reads it.
func workbookStream(r io.ReaderAt, size int64) (data []byte, err error) {
	sig := make([]byte, len(cfbSignature))
	if size < int64(len(sig)) {
		return nil, fmt.Errorf("%w: %d bytes is too short for a compound file", ErrUnsupported, size)
	}
	if _, err := r.ReadAt(sig, 0); err != nil {
		return nil, fmt.Errorf("read compound file signature: %w", err)
	}
	if !bytes.Equal(sig, cfbSignature) {
		return nil, fmt.Errorf("%w: no compound file signature", ErrUnsupported)
	}
	if size < 512 {
		return nil, fmt.Errorf("%w: compound file cut to %d bytes, shorter than its header", ErrCorrupt, size)
	}
	// mscfb has not always been hardened against malformed directories and
	// sector chains; a panic inside it is damage in the file, not a crash.
	defer func() {
		if p := recover(); p != nil {
			data, err = nil, fmt.Errorf("%w: malformed compound file (%v)", ErrCorrupt, p)
		}
	}()
	doc, err := mscfb.New(io.NewSectionReader(r, 0, size))
	if err != nil {
		return nil, fmt.Errorf("%w: compound file: %v", ErrCorrupt, err)
	}
	var workbook, book *mscfb.File
	var encryptedPackage bool
	for f, err := doc.Next(); err == nil; f, err = doc.Next() {
		if len(f.Path) != 0 || f.FileInfo().IsDir() {
			continue
		}
		switch {
		case strings.EqualFold(f.Name, "Workbook"):
			workbook = f
		case strings.EqualFold(f.Name, "Book"):
			book = f
		case f.Name == "EncryptedPackage":
			encryptedPackage = true
		}
	}
	if workbook == nil {
		// Excel 5.0/95 names the stream "Book"; its BOF record then says
		// which BIFF version it really is.
		workbook = book
	}
	switch {
	case workbook == nil && encryptedPackage:
		return nil, fmt.Errorf("%w: encrypted Office Open XML package", ErrEncrypted)
	case workbook == nil:
		return nil, fmt.Errorf("%w: compound file has no Workbook stream", ErrUnsupported)
	case workbook.Size > maxStream:
		return nil, fmt.Errorf("%w: Workbook stream of %d bytes is too large (limit %d)", ErrCorrupt, workbook.Size, maxStream)
	case workbook.Size > size:
		return nil, fmt.Errorf("%w: Workbook stream claims %d bytes in a %d-byte file", ErrCorrupt, workbook.Size, size)
	}
	data = make([]byte, workbook.Size)
	// Read in chunks: mscfb plans a whole read's sector list up front.
	const chunk = 64 << 10
	for n := 0; n < len(data); {
		m, err := workbook.Read(data[n:min(n+chunk, len(data))])
		n += m
		if err != nil && !(errors.Is(err, io.EOF) && n == len(data)) {
			return nil, fmt.Errorf("%w: read Workbook stream at offset %d: %v", ErrCorrupt, n, err)
		}
		if m == 0 && n < len(data) {
			return nil, fmt.Errorf("%w: Workbook stream ends at offset %d of %d", ErrCorrupt, n, len(data))
		}
	}
	return data, nil
}
