// Package reportout writes the report of a validation as one JSON document
// in memory that does not grow with the sheet: rows go to a temporary spool
// file as the engine hands them over, and the document is written once the
// report is complete, its rows merged back into sheet order from the spool.
//
// The document is the one json.MarshalIndent(report, "", "  ") gives for
// the report engine.Check returns, byte for byte. Memory is what the engine
// holds (it grows with the group's credentials) and a few fixed buffers.
package reportout

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
)

// WriteJSON validates the sheet and writes the report to w as
// json.MarshalIndent(report, "", "  ") would, rows included, in sheet
// order. It returns the report without its rows. Nothing is written to w
// when the sheet cannot be validated.
func WriteJSON(ctx context.Context, w io.Writer, src engine.Rows, in engine.Input) (*bulk.Report, error) {
	return Writer{}.WriteJSON(ctx, w, src, in)
}

// Writer says how the document is written; the zero value writes what
// json.MarshalIndent(report, "", "  ") gives.
type Writer struct {
	// KeepHTML leaves <, > and & in strings as they are, as a json.Encoder
	// does after SetEscapeHTML(false).
	KeepHTML bool
	// Newline ends the document with a newline, as json.Encoder.Encode does.
	Newline bool
	// TempDir is where the rows are spooled; "" is os.TempDir().
	TempDir string
}

// WriteJSON is the package's WriteJSON, written as wr says.
func (wr Writer) WriteJSON(ctx context.Context, w io.Writer, src engine.Rows, in engine.Input) (*bulk.Report, error) {
	sp, err := newSpool(wr.TempDir)
	if err != nil {
		return nil, err
	}
	defer sp.close()

	enc := startEncoder(sp, wr.KeepHTML)
	rep, err := engine.Run(ctx, src, in, enc.add)
	if werr := enc.finish(); err == nil && werr != nil {
		err = werr
	}
	if err != nil {
		return nil, err
	}

	head, err := wr.header(rep)
	if err != nil {
		return nil, err
	}
	out := bufio.NewWriterSize(w, 64<<10)
	out.Write(head)
	if err := sp.merge(out); err != nil {
		return nil, err
	}
	if wr.Newline {
		out.WriteByte('\n')
	}
	if err := out.Flush(); err != nil {
		return nil, fmt.Errorf("write report: %w", err)
	}
	return rep, nil
}

// emptyRows is how the document written for the report with no rows ends.
const emptyRows = "[]\n}"

// header is the document up to the rows' opening bracket: the report with
// no rows, as the whole document would be written, cut before its "[]".
func (wr Writer) header(rep *bulk.Report) ([]byte, error) {
	r := *rep
	r.Rows = []bulk.Row{}
	var buf bytes.Buffer
	if err := encode(&buf, &r, "", wr.KeepHTML); err != nil {
		return nil, fmt.Errorf("encode report: %w", err)
	}
	b := buf.Bytes()
	if !bytes.HasSuffix(b, []byte(emptyRows)) {
		// Rows is the report's last field; anything else is a bug here.
		return nil, errors.New("encode report: rows are not the last field of the report")
	}
	return b[:len(b)-len(emptyRows)], nil
}

// encode writes v to buf as json.MarshalIndent(v, prefix, "  ") does, with
// HTML escaped unless keepHTML.
func encode(buf *bytes.Buffer, v any, prefix string, keepHTML bool) error {
	e := json.NewEncoder(buf)
	e.SetEscapeHTML(!keepHTML)
	e.SetIndent(prefix, "  ")
	if err := e.Encode(v); err != nil {
		return err
	}
	// Encode ends with a newline MarshalIndent does not write.
	buf.Truncate(buf.Len() - 1)
	return nil
}

// rowPrefix is the indent of a row in the document: it sits in "rows", two
// levels down.
const rowPrefix = "    "

// A spool holds the rows' JSON in the order the engine handed them over,
// as runs of rising row numbers (the engine hands over two). Each record is
// the row number (8 bytes), the length of its JSON (4 bytes) and the JSON.
type spool struct {
	f    *os.File
	w    *bufio.Writer
	off  int64   // bytes written
	runs []int64 // where each run starts
	last int     // row number of the last record
	n    int     // records
}

func newSpool(dir string) (*spool, error) {
	f, err := os.CreateTemp(dir, "credup-report-*")
	if err != nil {
		return nil, fmt.Errorf("create report spool: %w", err)
	}
	// Where the system allows it the file goes at once, so nothing is left
	// behind whatever happens; close removes it otherwise.
	_ = os.Remove(f.Name())
	return &spool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

func (s *spool) close() {
	s.f.Close()
	os.Remove(s.f.Name())
}

func (s *spool) put(row int, js []byte) error {
	if s.n == 0 || row < s.last {
		s.runs = append(s.runs, s.off)
	}
	var h [12]byte
	binary.LittleEndian.PutUint64(h[:8], uint64(row))
	binary.LittleEndian.PutUint32(h[8:], uint32(len(js)))
	s.w.Write(h[:])
	if _, err := s.w.Write(js); err != nil {
		return fmt.Errorf("write report spool: %w", err)
	}
	s.off += int64(len(h) + len(js))
	s.last = row
	s.n++
	return nil
}

// run reads the records of one run in order.
type run struct {
	r   *bufio.Reader
	row int
	js  []byte
	ok  bool
	err error
}

func (r *run) next() {
	var h [12]byte
	if _, err := io.ReadFull(r.r, h[:]); err != nil {
		r.ok = false
		if !errors.Is(err, io.EOF) {
			r.err = err
		}
		return
	}
	r.row = int(binary.LittleEndian.Uint64(h[:8]))
	n := int(binary.LittleEndian.Uint32(h[8:]))
	if cap(r.js) < n {
		r.js = make([]byte, n)
	}
	r.js = r.js[:n]
	if _, err := io.ReadFull(r.r, r.js); err != nil {
		r.ok, r.err = false, err
		return
	}
	r.ok = true
}

// merge writes the rows' array to out: each run is read in order and the
// lowest row number of their heads goes next.
func (s *spool) merge(out *bufio.Writer) error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write report spool: %w", err)
	}
	if s.n == 0 {
		out.WriteString(emptyRows)
		return nil
	}
	runs := make([]*run, len(s.runs))
	for i, start := range s.runs {
		end := s.off
		if i+1 < len(s.runs) {
			end = s.runs[i+1]
		}
		// Each run gets a buffer of its own; the engine hands over two.
		runs[i] = &run{r: bufio.NewReaderSize(io.NewSectionReader(s.f, start, end-start), 32<<10)}
		runs[i].next()
	}
	out.WriteByte('[')
	for first := true; ; first = false {
		var low *run
		for _, r := range runs {
			if r.err != nil {
				return fmt.Errorf("read report spool: %w", r.err)
			}
			if r.ok && (low == nil || r.row < low.row) {
				low = r
			}
		}
		if low == nil {
			break
		}
		if !first {
			out.WriteByte(',')
		}
		out.WriteString("\n" + rowPrefix)
		out.Write(low.js)
		low.next()
	}
	out.WriteString("\n  ]\n}")
	return nil
}
