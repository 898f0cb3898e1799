package sheet

import (
	"archive/zip"
	"encoding/xml"
	"errors"
	"io"
	"path"
	"strconv"
	"strings"
)

// The XLSX reader owns the parts that grow with the data: it streams the
// worksheet XML straight out of the zip entry with xmlScanner and keeps the
// shared strings in one string. excelize's Rows iterator cannot be used
// here: it reports neither a cell's type nor its style, so text could not be
// told from numbers nor dates found, and it inflates every worksheet to a
// temporary file first. excelize is still the reference for date serials
// (ExcelDateToTime) and writes the test and benchmark workbooks.

// workbook is what is read of an XLSX package before its rows.
type workbook struct {
	zr       *zip.Reader
	parts    map[string]*zip.File // by lower-cased name
	sheets   []wbSheet
	date1904 bool
	isDate   []bool // by cell style index
	sst      sharedStrings
	opts     Options
}

type wbSheet struct {
	name   string
	hidden bool
	part   string // zip entry name, "" when the relationship is missing
}

type sharedStrings struct {
	data string   // every string, one after the other
	ends []uint32 // ends[i] is where string i ends in data
}

func (s *sharedStrings) get(i int) (string, bool) {
	if i < 0 || i >= len(s.ends) {
		return "", false
	}
	start := uint32(0)
	if i > 0 {
		start = s.ends[i-1]
	}
	return s.data[start:s.ends[i]], true
}

// XML shapes of the small parts, decoded with encoding/xml.
type (
	xmlRels struct {
		Rels []struct {
			ID     string `xml:"Id,attr"`
			Type   string `xml:"Type,attr"`
			Target string `xml:"Target,attr"`
			Mode   string `xml:"TargetMode,attr"`
		} `xml:"Relationship"`
	}
	xmlWorkbook struct {
		Pr struct {
			Date1904 string `xml:"date1904,attr"`
		} `xml:"workbookPr"`
		Sheets []struct {
			Name  string `xml:"name,attr"`
			State string `xml:"state,attr"`
			RID   string `xml:"id,attr"`
		} `xml:"sheets>sheet"`
	}
	xmlStyles struct {
		NumFmts []struct {
			ID   string `xml:"numFmtId,attr"`
			Code string `xml:"formatCode,attr"`
		} `xml:"numFmts>numFmt"`
		CellXfs []struct {
			NumFmtID string `xml:"numFmtId,attr"`
		} `xml:"cellXfs>xf"`
	}
)

func openXLSX(f io.ReaderAt, size int64, o Options) (Reader, error) {
	wb, err := readWorkbook(f, size, o)
	if err != nil {
		return nil, err
	}
	return wb.openSheet()
}

func readWorkbook(f io.ReaderAt, size int64, o Options) (*workbook, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, errorf(CodeCorrupt, "the file starts like an XLSX workbook but is not a readable zip archive; it may be damaged or incomplete")
	}
	wb := &workbook{zr: zr, parts: make(map[string]*zip.File, len(zr.File)), opts: o}
	var total uint64
	for _, zf := range zr.File {
		total += zf.UncompressedSize64
		name := strings.ToLower(strings.ReplaceAll(zf.Name, `\`, "/"))
		wb.parts[strings.TrimPrefix(name, "/")] = zf
	}
	if total > uint64(o.unzipLimit) {
		return nil, errorf(CodeTooLarge, "the workbook unpacks to more than %s, the limit", byteSize(o.unzipLimit))
	}

	wbPath := wb.officeDocument()
	if wbPath == "" || wb.parts[wbPath] == nil {
		return nil, wb.notAWorkbook()
	}
	var x xmlWorkbook
	if err := wb.decodePart(wbPath, &x); err != nil {
		return nil, err
	}
	wb.date1904 = x.Pr.Date1904 == "1" || strings.EqualFold(x.Pr.Date1904, "true")

	rels, err := wb.rels(wbPath)
	if err != nil {
		return nil, err
	}
	var sstPath, stylesPath string
	for _, r := range rels {
		switch {
		case strings.HasSuffix(r.typ, "/sharedStrings"):
			sstPath = r.target
		case strings.HasSuffix(r.typ, "/styles"):
			stylesPath = r.target
		}
	}
	for _, s := range x.Sheets {
		sh := wbSheet{name: s.Name, hidden: s.State == "hidden" || s.State == "veryHidden"}
		for _, r := range rels {
			if r.id == s.RID && strings.HasSuffix(r.typ, "/worksheet") {
				sh.part = r.target
			}
		}
		wb.sheets = append(wb.sheets, sh)
	}
	if err := wb.readStyles(stylesPath); err != nil {
		return nil, err
	}
	if err := wb.readSharedStrings(sstPath); err != nil {
		return nil, err
	}
	return wb, nil
}

// officeDocument returns the path of the workbook part named by the package
// relationships, or the usual one.
func (wb *workbook) officeDocument() string {
	rels, err := wb.rels("")
	if err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") && strings.HasSuffix(r.target, ".xml") {
				return r.target
			}
		}
	}
	return "xl/workbook.xml"
}

// notAWorkbook explains what a zip archive that is no XLSX workbook is.
func (wb *workbook) notAWorkbook() *Error {
	what := "a zip archive, not an Excel workbook"
	switch {
	case wb.parts["xl/workbook.bin"] != nil:
		what = "an Excel binary workbook (.xlsb), which credup cannot read; save it as .xlsx"
	case wb.parts["mimetype"] != nil || wb.parts["content.xml"] != nil:
		what = "an OpenDocument file (.ods); save it as .xlsx or .csv"
	case wb.parts["word/document.xml"] != nil:
		what = "a Word document, not a spreadsheet"
	case wb.parts["ppt/presentation.xml"] != nil:
		what = "a PowerPoint presentation, not a spreadsheet"
	}
	return errorf(CodeUnsupportedFormat, "the file is %s", what)
}

type rel struct{ id, typ, target string }

// rels reads the relationships of a part ("" for the package's), with
// targets resolved to lower-cased part names.
func (wb *workbook) rels(part string) ([]rel, error) {
	dir, file := path.Split(part)
	relsPath := dir + "_rels/" + file + ".rels"
	if wb.parts[relsPath] == nil {
		return nil, nil
	}
	var x xmlRels
	if err := wb.decodePart(relsPath, &x); err != nil {
		return nil, err
	}
	out := make([]rel, 0, len(x.Rels))
	for _, r := range x.Rels {
		if strings.EqualFold(r.Mode, "External") {
			continue
		}
		t := strings.ReplaceAll(r.Target, `\`, "/")
		if strings.HasPrefix(t, "/") {
			t = path.Clean(t)[1:]
		} else {
			t = path.Join(dir, t)
		}
		out = append(out, rel{id: r.ID, typ: r.Type, target: strings.ToLower(t)})
	}
	return out, nil
}

// openPart opens a part for streaming, refusing one over limit bytes.
func (wb *workbook) openPart(name string, limit int64) (io.ReadCloser, error) {
	zf := wb.parts[name]
	if zf == nil {
		return nil, errorf(CodeCorrupt, "the workbook is missing its part %s", name)
	}
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, errorf(CodeTooLarge, "the workbook part %s unpacks to more than %s, the limit", name, byteSize(limit))
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, errorf(CodeCorrupt, "the workbook part %s cannot be read: %v", name, err)
	}
	return rc, nil
}

func (wb *workbook) decodePart(name string, v any) error {
	rc, err := wb.openPart(name, wb.opts.xmlPartLimit)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := xml.NewDecoder(rc).Decode(v); err != nil {
		return errorf(CodeCorrupt, "the workbook part %s is damaged: %v", name, err)
	}
	return nil
}

func (wb *workbook) readStyles(name string) error {
	if name == "" {
		name = "xl/styles.xml"
	}
	if wb.parts[name] == nil {
		return nil
	}
	var x xmlStyles
	if err := wb.decodePart(name, &x); err != nil {
		return err
	}
	custom := make(map[int]string, len(x.NumFmts))
	for _, nf := range x.NumFmts {
		if id, err := strconv.Atoi(strings.TrimSpace(nf.ID)); err == nil {
			custom[id] = nf.Code
		}
	}
	wb.isDate = make([]bool, len(x.CellXfs))
	for i, xf := range x.CellXfs {
		id, err := strconv.Atoi(strings.TrimSpace(xf.NumFmtID))
		if err != nil {
			continue
		}
		if code, ok := custom[id]; ok {
			wb.isDate[i] = isDateFormat(code)
		} else {
			wb.isDate[i] = isBuiltInDateFormat(id)
		}
	}
	return nil
}

// readSharedStrings loads the shared string table: the text of each <si>,
// its rich-text runs joined, phonetic guides (<rPh>) left out.
func (wb *workbook) readSharedStrings(name string) error {
	if name == "" {
		name = "xl/sharedstrings.xml"
	}
	if wb.parts[name] == nil {
		return nil
	}
	rc, err := wb.openPart(name, wb.opts.unzipLimit)
	if err != nil {
		return err
	}
	defer rc.Close()
	s := newXMLScanner(rc)
	var data []byte
	var ends []uint32
	limit := int(min(wb.opts.textLimit, 1<<32-1))
	damaged := func(err error) error {
		return errorf(CodeCorrupt, "the workbook's shared strings are damaged (after string %d): %v", len(ends), err)
	}
	depthPh := 0 // inside <rPh>
	inSI := false
	for {
		tok, err := s.next()
		if err != nil {
			return damaged(err)
		}
		if tok == tokEOF {
			break
		}
		name := string(s.name)
		switch tok {
		case tokStart:
			switch {
			case name == "sst" && len(ends) == 0:
				if v, ok := s.attr("uniqueCount"); ok {
					if n, err := strconv.Atoi(string(v)); err == nil && n > 0 {
						ends = make([]uint32, 0, min(n, 1<<20))
					}
				}
			case name == "si":
				inSI = true
				if s.selfClose {
					inSI = false
					ends = append(ends, uint32(len(data)))
				}
			case name == "rPh" && !s.selfClose:
				depthPh++
			case name == "t" && inSI && depthPh == 0 && !s.selfClose:
				text, over, err := s.readText(limit - len(data))
				if err != nil {
					return damaged(err)
				}
				if over {
					return errorf(CodeTooLarge, "the workbook's text is larger than %s, the limit", byteSize(int64(limit)))
				}
				data = append(data, text...)
			}
		case tokEnd:
			switch name {
			case "si":
				if inSI {
					start := 0
					if len(ends) > 0 {
						start = int(ends[len(ends)-1])
					}
					if u := unescapeOOXML(data[start:]); len(u) != len(data)-start {
						data = append(data[:start], u...)
					}
					ends = append(ends, uint32(len(data)))
				}
				inSI = false
			case "rPh":
				depthPh = max(0, depthPh-1)
			}
		}
	}
	wb.sst = sharedStrings{data: string(data), ends: ends}
	return nil
}

// openSheet opens the sheet the options name, or the first sheet with data,
// preferring visible sheets.
func (wb *workbook) openSheet() (Reader, error) {
	if len(wb.sheets) == 0 {
		return nil, errorf(CodeEmpty, "the workbook has no sheets")
	}
	if want := wb.opts.Sheet; want != "" {
		names := make([]string, len(wb.sheets))
		for i, sh := range wb.sheets {
			names[i] = sh.name
		}
		i := findSheet(names, want)
		if i < 0 {
			return nil, errorf(CodeNoSheet, "the workbook has no sheet named %q; its sheets are %s", want, quoteList(names))
		}
		r, err := wb.sheetReader(wb.sheets[i])
		if err != nil {
			return nil, err
		}
		if err := r.prime(); err != nil {
			r.Close()
			if isEOF(err) {
				return nil, errorf(CodeEmpty, "the sheet %q has no data", want)
			}
			return nil, err
		}
		return r, nil
	}
	for _, hidden := range []bool{false, true} {
		for _, sh := range wb.sheets {
			if sh.hidden != hidden || sh.part == "" {
				continue
			}
			r, err := wb.sheetReader(sh)
			if err != nil {
				return nil, err
			}
			err = r.prime()
			if err == nil {
				return r, nil
			}
			r.Close()
			if !isEOF(err) {
				return nil, err
			}
		}
	}
	return nil, errorf(CodeEmpty, "the workbook has no data in any sheet")
}

// findSheet finds a sheet by name, exactly or else ignoring case, as Excel
// names are unique regardless of case.
func findSheet(names []string, want string) int {
	for i, n := range names {
		if n == want {
			return i
		}
	}
	for i, n := range names {
		if strings.EqualFold(n, want) {
			return i
		}
	}
	return -1
}

func (wb *workbook) sheetReader(sh wbSheet) (*xlsxReader, error) {
	if sh.part == "" {
		return nil, errorf(CodeEmpty, "the sheet %q holds no cells (it may be a chart sheet)", sh.name)
	}
	rc, err := wb.openPart(sh.part, wb.opts.unzipLimit)
	if err != nil {
		return nil, err
	}
	return &xlsxReader{
		wb: wb,
		rc: rc,
		s:  newXMLScanner(rc),
		info: Info{
			Format:   FormatXLSX,
			Encoding: EncodingUTF8,
			Sheet:    sh.name,
			Date1904: wb.date1904,
		},
	}, nil
}

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// damagedSheet is the error for a worksheet whose XML stops making sense
// after row: the rows before it were read, so the sheet is cut short.
func damagedSheet(sheet string, row int, err error) *Error {
	if row == 0 {
		return errorf(CodeCorrupt, "the sheet %q is damaged and cannot be read (%v)", sheet, err)
	}
	return errorf(CodeTruncated, "the sheet %q is damaged after row %d, so the rows after it cannot be read (%v); the file may be incomplete", sheet, row, err)
}
