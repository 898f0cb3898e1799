package sheet

import (
	"math"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"
)

// isBuiltInDateFormat reports whether a built-in number format ID (one a
// workbook uses without defining it) shows a date or time: 14–22 and 45–47
// everywhere, 27–36 and 50–58 in the East Asian editions of Excel that
// write them.
func isBuiltInDateFormat(id int) bool {
	switch {
	case id >= 14 && id <= 22, id >= 45 && id <= 47:
		return true
	case id >= 27 && id <= 36, id >= 50 && id <= 58:
		return true
	}
	return false
}

// isDateFormat reports whether a custom number format code shows a date or
// time: it has a d, m, y, h or s token outside quoted text, escapes, fill
// and padding characters and bracketed colours, conditions or locales
// ([h], [mm] and [ss] elapsed-time tokens do count).
func isDateFormat(code string) bool {
	for i := 0; i < len(code); i++ {
		switch c := code[i]; c {
		case '"':
			for i++; i < len(code) && code[i] != '"'; i++ {
			}
		case '\\', '_', '*':
			i++ // the next character is literal, or padding / fill
		case '[':
			j := i + 1
			for j < len(code) && code[j] != ']' {
				j++
			}
			if isElapsed(code[i+1 : min(j, len(code))]) {
				return true
			}
			i = j
		case 'd', 'D', 'm', 'M', 'y', 'Y', 'h', 'H', 's', 'S':
			return true
		case 'e', 'E':
			// "e" is a year in some locales, but "E+" is scientific notation.
			if i+1 < len(code) && (code[i+1] == '+' || code[i+1] == '-') {
				i++
			}
		}
	}
	return false
}

func isElapsed(b string) bool {
	if b == "" {
		return false
	}
	for i := 0; i < len(b); i++ {
		if b[i] != b[0] {
			return false
		}
	}
	switch b[0] {
	case 'h', 'H', 'm', 'M', 's', 'S':
		return true
	}
	return false
}

// formatNumber is the shortest decimal that reads back as f, without an
// exponent for ordinary magnitudes ("40", "2.5", "0.1").
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) || math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// Excel's date serial ranges: up to 9999-12-31, from 1900-01-01 (serial 1)
// or 1904-01-01 (serial 0).
const (
	maxSerial1900 = 2958466
	maxSerial1904 = 2957004
)

// serialTime converts an Excel date serial to a time. ok is false for a
// number that is no date: out of range, a time of day with no date, or the
// 29 February 1900 that Excel counts but that never was (serial 60).
func serialTime(serial float64, date1904 bool) (time.Time, bool) {
	if math.IsNaN(serial) {
		return time.Time{}, false
	}
	if date1904 {
		if serial < 0 || serial >= maxSerial1904 {
			return time.Time{}, false
		}
	} else if serial < 1 || serial >= maxSerial1900 || math.Floor(serial) == 60 {
		return time.Time{}, false
	}
	t, err := excelize.ExcelDateToTime(serial, date1904)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}

// isoDate formats a date as ISO 8601, with the time only when it has one.
func isoDate(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05")
}

// dateCache remembers the cells of whole-day date serials: a sheet holds
// few distinct dates, and formatting them is most of the cost of a date cell.
type dateCache struct {
	m map[float64]Cell
}

const maxCachedDates = 1 << 14

func (d *dateCache) numberCell(f float64, dateFormat, date1904 bool) Cell {
	if f != math.Trunc(f) || f < 0 || f >= maxSerial1900 {
		return numberCell(f, dateFormat, date1904)
	}
	key := f
	if dateFormat {
		key = -1 - f // date-formatted and plain numbers differ in Kind and Text
	}
	if c, ok := d.m[key]; ok {
		return c
	}
	c := numberCell(f, dateFormat, date1904)
	if d.m == nil {
		d.m = make(map[float64]Cell)
	}
	if len(d.m) < maxCachedDates {
		d.m[key] = c
	}
	return c
}

// numberCell is the cell for a number read from a workbook: a Date when its
// format shows a date and it is one, else a Number whose Day is set when
// the number could be a date serial.
func numberCell(f float64, dateFormat, date1904 bool) Cell {
	t, isDate := serialTime(f, date1904)
	if dateFormat && isDate {
		return Cell{Kind: Date, Text: isoDate(t), Num: f}.withTime(t)
	}
	c := Cell{Kind: Number, Text: formatNumber(f), Num: f}
	if isDate {
		c = c.withTime(t)
	}
	return c
}
