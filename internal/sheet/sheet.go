// Package sheet reads spreadsheets (CSV, XLSX, legacy XLS) as a stream of
// rows of typed cells, whatever the file's name says, within size limits.
//
// The format is chosen from the first bytes of the file. CSV is decoded and
// parsed as it streams, so memory does not grow with the number of rows;
// XLSX and XLS need random access and are read from a file (a temporary one
// when they arrive as a stream), but their rows are still decoded one at a
// time. Every problem a user can fix comes back as an *Error with a stable
// code.
package sheet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// Defaults of Options.
const (
	DefaultMaxBytes   = 200 << 20
	DefaultMaxRows    = 1_048_576
	DefaultMaxColumns = 1024
	DefaultMaxCellLen = 32_767
)

// Limits of the parts of an XLSX workbook, which a small zip can inflate far
// beyond its own size.
const (
	defaultUnzipLimit   = 1 << 30   // all parts together, uncompressed
	defaultXMLPartLimit = 64 << 20  // workbook, relationships, styles
	defaultTextLimit    = 256 << 20 // the shared strings, decoded
)

// sniffSize is how much of a file is read before choosing its format,
// encoding and delimiter.
const sniffSize = 64 << 10

// Options bound what a reader accepts; zero values take the defaults.
type Options struct {
	Sheet      string // workbooks: the sheet to read; "" = the first sheet with data, visible sheets first
	MaxBytes   int64  // default 200 << 20
	MaxRows    int    // default 1_048_576: no data beyond this row number (blank rows count)
	MaxColumns int    // default 1024
	MaxCellLen int    // default 32_767 characters
	TempDir    string // where Open spools XLSX/XLS read from a stream; "" = os.TempDir()

	// Workbook part limits; tests lower them to build small zip bombs.
	unzipLimit   int64
	xmlPartLimit int64
	textLimit    int64
}

func (o Options) withDefaults() Options {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxRows <= 0 {
		o.MaxRows = DefaultMaxRows
	}
	if o.MaxColumns <= 0 {
		o.MaxColumns = DefaultMaxColumns
	}
	if o.MaxCellLen <= 0 {
		o.MaxCellLen = DefaultMaxCellLen
	}
	if o.unzipLimit <= 0 {
		o.unzipLimit = defaultUnzipLimit
	}
	if o.xmlPartLimit <= 0 {
		o.xmlPartLimit = defaultXMLPartLimit
	}
	if o.textLimit <= 0 {
		o.textLimit = defaultTextLimit
	}
	return o
}

// Info describes the file being read.
type Info struct {
	Format    string // "csv", "xlsx", "xls"
	Encoding  string // csv: "utf-8", "utf-8-bom", "utf-16le", "utf-16be", "windows-1252"; xlsx/xls: "utf-8" (xls: as decoded)
	Delimiter string // csv only: ",", ";", "\t", "|"
	Sheet     string // xlsx/xls: the sheet read
	Date1904  bool   // xlsx/xls: serial dates count from 1904-01-01
}

// Reader streams the non-blank rows of one sheet.
type Reader interface {
	Info() Info
	// Next returns the next non-blank row, io.EOF after the last. A row
	// whose cells are all empty or whitespace is blank. The returned cells
	// are the caller's to keep. After an error, Next keeps returning it.
	Next() (Row, error)
	// Close releases the file, removing any temporary copy.
	Close() error
}

// IntoReader is a Reader that can read a row into cells the caller gives:
// NextInto is Next, with the row's cells appended to buf[:0] when they fit
// (buf is used again by the caller, so they are valid until then) instead
// of being the caller's to keep. It spares a caller that is done with each
// row before the next few (a validation reading ahead) an allocation per
// row. The CSV reader is one.
type IntoReader interface {
	NextInto(buf []Cell) (Row, error)
}

// NextInto reads r's next row into buf when r is an IntoReader, else it
// returns r.Next().
func NextInto(r interface{ Next() (Row, error) }, buf []Cell) (Row, error) {
	if ir, ok := r.(IntoReader); ok {
		return ir.NextInto(buf)
	}
	return r.Next()
}

// Formats Detect returns.
const (
	FormatCSV  = "csv"
	FormatXLSX = "xlsx"
	FormatXLS  = "xls"
)

var (
	zipMagic = []byte("PK\x03\x04")
	cfbMagic = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}
)

// Open reads a spreadsheet from a stream, choosing the format from its
// first bytes. CSV is parsed as it streams from r; XLSX and XLS are copied
// to a temporary file in opts.TempDir first (at most opts.MaxBytes), which
// Close removes. Open reads the first row, so an empty file is an error here.
func Open(r io.Reader, opts Options) (Reader, error) {
	o := opts.withDefaults()
	head, err := readHead(r)
	if err != nil {
		return nil, err
	}
	if int64(len(head)) > o.MaxBytes {
		return nil, tooLarge(o.MaxBytes)
	}
	switch format := Detect(head); format {
	case FormatCSV:
		src := newLimitReader(io.MultiReader(bytes.NewReader(head), r), o.MaxBytes)
		return openCSV(head, src, o, nil)
	case FormatXLSX, FormatXLS:
		f, size, err := spool(head, r, o)
		if err != nil {
			return nil, err
		}
		rd, err := openBinary(format, f, size, o)
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
			return nil, err
		}
		return &removeOnClose{Reader: rd, file: f}, nil
	default:
		return nil, unsupported(head)
	}
}

// OpenFile reads the spreadsheet at path in place, choosing the format from
// its first bytes, never from its name.
func OpenFile(path string, opts Options) (Reader, error) {
	o := opts.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open spreadsheet: %w", err)
	}
	rd, err := openFile(f, o)
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return rd, nil
}

func openFile(f *os.File, o Options) (Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat spreadsheet: %w", err)
	}
	if st.Size() > o.MaxBytes {
		return nil, tooLarge(o.MaxBytes)
	}
	head, err := readHead(f)
	if err != nil {
		return nil, err
	}
	switch format := Detect(head); format {
	case FormatCSV:
		src := newLimitReader(io.MultiReader(bytes.NewReader(head), f), o.MaxBytes)
		return openCSV(head, src, o, f)
	case FormatXLSX, FormatXLS:
		rd, err := openBinary(format, f, st.Size(), o)
		if err != nil {
			return nil, err
		}
		return &closeFile{Reader: rd, file: f}, nil
	default:
		return nil, unsupported(head)
	}
}

func openBinary(format string, f *os.File, size int64, o Options) (Reader, error) {
	if format == FormatXLSX {
		return openXLSX(f, size, o)
	}
	return openCFB(f, size, o)
}

func readHead(r io.Reader) ([]byte, error) {
	head := make([]byte, sniffSize)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("read spreadsheet: %w", err)
	}
	return head[:n], nil
}

// spool copies a workbook stream to a temporary file, refusing more than
// MaxBytes.
func spool(head []byte, r io.Reader, o Options) (*os.File, int64, error) {
	f, err := os.CreateTemp(o.TempDir, "credup-sheet-*")
	if err != nil {
		return nil, 0, fmt.Errorf("spool spreadsheet: %w", err)
	}
	fail := func(err error) (*os.File, int64, error) {
		_ = f.Close()
		_ = os.Remove(f.Name())
		return nil, 0, err
	}
	if _, err := f.Write(head); err != nil {
		return fail(fmt.Errorf("spool spreadsheet: %w", err))
	}
	n, err := io.Copy(f, io.LimitReader(r, o.MaxBytes-int64(len(head))+1))
	if err != nil {
		return fail(fmt.Errorf("spool spreadsheet: %w", err))
	}
	size := int64(len(head)) + n
	if size > o.MaxBytes {
		return fail(tooLarge(o.MaxBytes))
	}
	return f, size, nil
}

func tooLarge(limit int64) *Error {
	return errorf(CodeTooLarge, "the file is larger than %s, the limit", byteSize(limit))
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// limitReader fails with too_large once more than limit bytes were read.
type limitReader struct {
	r     io.Reader
	left  int64
	limit int64
}

func newLimitReader(r io.Reader, limit int64) *limitReader {
	return &limitReader{r: r, left: limit, limit: limit}
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, tooLarge(l.limit)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), tooLarge(l.limit)
	}
	return n, err
}

// cellAlloc hands out the cells of rows from shared blocks: one allocation
// per many rows instead of one per row. A row's cells are capped at its own
// length, so appending to them never touches the next row's.
type cellAlloc struct {
	block []Cell
}

const cellBlock = 1024

func (a *cellAlloc) make(n int) []Cell {
	if n > cellBlock/8 {
		return make([]Cell, n)
	}
	if len(a.block) < n {
		a.block = make([]Cell, cellBlock)
	}
	c := a.block[:n:n]
	a.block = a.block[n:]
	return c
}

// closeFile closes the file a reader reads from.
type closeFile struct {
	Reader
	file *os.File
}

// NextInto reads into buf when the reader it wraps can.
func (c *closeFile) NextInto(buf []Cell) (Row, error) {
	return NextInto(c.Reader, buf)
}

func (c *closeFile) Close() error {
	if c.file == nil {
		return nil
	}
	err := c.Reader.Close()
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	c.file = nil
	return err
}

// removeOnClose closes and removes the temporary copy a reader reads from.
type removeOnClose struct {
	Reader
	file *os.File
}

func (c *removeOnClose) Close() error {
	if c.file == nil {
		return nil
	}
	err := c.Reader.Close()
	if cerr := c.file.Close(); err == nil {
		err = cerr
	}
	if rerr := os.Remove(c.file.Name()); err == nil && rerr != nil {
		err = fmt.Errorf("remove spooled spreadsheet: %w", rerr)
	}
	c.file = nil
	return err
}
