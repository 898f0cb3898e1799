package sheet

import (
	"bytes"
	"unicode/utf8"
)

// Detect names the format of a file from its first bytes (at least the first
// KiB when the file has that many): "xlsx" for a zip archive, "xls" for an
// OLE compound document, "csv" for text, "" for anything else. A zip or
// compound document that is not a workbook is only found out when opened.
func Detect(head []byte) string {
	switch {
	case bytes.HasPrefix(head, zipMagic):
		return FormatXLSX
	case bytes.HasPrefix(head, cfbMagic):
		return FormatXLS
	case isText(head):
		return FormatCSV
	}
	return ""
}

// binaryMagic lists common non-spreadsheet formats people upload by mistake,
// with the name a message gives them.
var binaryMagic = []struct {
	magic, name string
}{
	{"%PDF-", "a PDF document"},
	{"\x89PNG", "a PNG image"},
	{"\xFF\xD8\xFF", "a JPEG image"},
	{"GIF8", "a GIF image"},
	{"\x1F\x8B", "a gzip archive"},
	{"PK\x05\x06", "an empty zip archive"},
	{"PK\x07\x08", "a zip archive"},
	{"7z\xBC\xAF", "a 7-Zip archive"},
	{"Rar!", "a RAR archive"},
	{"\xFF\xFE\x00\x00", "UTF-32 text"},
	{"\x00\x00\xFE\xFF", "UTF-32 text"},
	{"{\\rtf", "an RTF document"},
}

// isText reports whether head looks like text in one of the encodings CSV
// files come in: UTF-16 with a byte order mark, UTF-8 or Windows-1252.
func isText(head []byte) bool {
	for _, m := range binaryMagic {
		if bytes.HasPrefix(head, []byte(m.magic)) {
			return false
		}
	}
	if bytes.HasPrefix(head, []byte{0xFF, 0xFE}) || bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return true
	}
	if utf16Order(head) != "" {
		return true
	}
	head = bytes.TrimPrefix(head, []byte{0xEF, 0xBB, 0xBF})
	if len(head) > 1024 {
		head = head[:1024]
	}
	if bytes.IndexByte(head, 0) >= 0 {
		return false
	}
	// A stray control character or two is tolerated (some exporters emit
	// vertical tabs or a DOS end-of-file mark); binary files have many.
	odd := 0
	valid := utf8Valid(head)
	for _, c := range head {
		switch {
		case c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\v' && c != '\f' && c != 0x1A && c != 0x1B:
			odd++
		case !valid && (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D):
			odd++ // not a character in Windows-1252 either
		}
	}
	return odd*100 <= len(head)
}

// utf16Order recognises UTF-16 text without a byte order mark from the
// zero bytes of its mostly-Latin characters: EncodingUTF16LE when they are
// the odd bytes, EncodingUTF16BE when the even ones, "" otherwise.
func utf16Order(head []byte) string {
	n := min(len(head), 1024) &^ 1
	if n < 8 {
		return ""
	}
	// Counted per order: characters with a zero high byte, and those of
	// them that are control characters other than tab and line ends.
	var le, leCtl, be, beCtl int
	for i := 0; i < n; i += 2 {
		if head[i+1] == 0 {
			le++
			if isControl(head[i]) {
				leCtl++
			}
		}
		if head[i] == 0 {
			be++
			if isControl(head[i+1]) {
				beCtl++
			}
		}
	}
	pairs := n / 2
	switch {
	case le*10 >= pairs*4 && be*20 < pairs && leCtl*20 < le:
		return EncodingUTF16LE
	case be*10 >= pairs*4 && le*20 < pairs && beCtl*20 < be:
		return EncodingUTF16BE
	}
	return ""
}

func isControl(c byte) bool {
	return c < 0x20 && c != '\t' && c != '\n' && c != '\r'
}

// utf8Valid is utf8.Valid, forgiving one character cut off at the end.
func utf8Valid(b []byte) bool {
	return utf8.Valid(b[:len(b)-incompleteSuffix(b)])
}

// incompleteSuffix returns how many bytes at the end of b begin a UTF-8
// sequence that more bytes could complete.
func incompleteSuffix(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		c := b[i]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a lead byte
			if !utf8.FullRune(b[i:]) {
				return len(b) - i
			}
			return 0
		}
	}
	return 0
}

// unsupported is the error for a file that is no spreadsheet.
func unsupported(head []byte) *Error {
	what := "a binary file"
	for _, m := range binaryMagic {
		if bytes.HasPrefix(head, []byte(m.magic)) {
			what = m.name
			break
		}
	}
	return errorf(CodeUnsupportedFormat, "the file is %s, not a spreadsheet; upload a CSV, XLSX or XLS file", what)
}
