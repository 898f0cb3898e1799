// Package dates reads the dates people type into spreadsheets, under a
// format the user chose or one inferred from a whole column, and the serial
// numbers spreadsheet programs store dates as.
//
// Formats are named as users see them ("DD/MM/YYYY"). In the numeric formats
// day and month may have one or two digits ("1/2/2024"); month names are
// English, abbreviated or full, in any case ("Sep", "Sept", "September"),
// optionally followed by a dot. "D MMM YYYY" also reads "15-Jan-2024" and
// "15 Jan. 2024", the forms spreadsheet programs and people write it in.
// Two-digit years are read with a fixed pivot: 00–69 are 2000–2069 and 70–99
// are 1970–1999. Four-digit years run from 1000 to 9999. Surrounding
// whitespace is ignored, and a time of day after a numeric date
// ("2024-01-15 00:00:00", "2024-01-15T10:30:00Z", "1/15/2024 0:00") is
// ignored too, so exports that carry midnight times still read as dates.
//
// Fit and Parse run once per date cell of files with up to a million rows:
// they use no regular expressions and do not allocate for values that read.
package dates

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Date is a calendar day, with no time zone.
type Date struct{ Year, Month, Day int }

// FromTime returns the day of t in t's own location.
func FromTime(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, int(m), d}
}

// String returns the date as ISO YYYY-MM-DD, the form credentials store.
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	var b [10]byte
	put4(b[0:4], d.Year)
	b[4] = '-'
	put2(b[5:7], d.Month)
	b[7] = '-'
	put2(b[8:10], d.Day)
	return string(b[:])
}

// IsZero reports whether d is the zero Date (no date).
func (d Date) IsZero() bool { return d == Date{} }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// Format writes d the way format reads it: Parse(d.Format(f), f) == d for
// every date Parse can return. An unknown format gives the ISO form.
func (d Date) Format(format string) string {
	i := index(format)
	if i < 0 {
		return d.String()
	}
	l := &layouts[i]
	var b []byte
	switch l.kind {
	case numeric:
		for k, f := range l.order {
			if k > 0 {
				b = append(b, l.sep)
			}
			switch f {
			case year4:
				b = append(b, pad(d.Year, 4)...)
			case year2:
				b = append(b, pad(d.Year%100, 2)...)
			case month:
				b = append(b, pad(d.Month, 2)...)
			case day:
				b = append(b, pad(d.Day, 2)...)
			}
		}
	case dayName:
		b = append(b, strconv.Itoa(d.Day)...)
		b = append(b, ' ')
		b = append(b, monthAbbr(d.Month)...)
		b = append(b, ' ')
		if l.yearDigits == 2 {
			b = append(b, pad(d.Year%100, 2)...)
		} else {
			b = append(b, pad(d.Year, 4)...)
		}
	case nameDay:
		b = append(b, monthAbbr(d.Month)...)
		b = append(b, ' ')
		b = append(b, strconv.Itoa(d.Day)...)
		b = append(b, ", "...)
		b = append(b, pad(d.Year, 4)...)
	}
	return string(b)
}

func monthAbbr(m int) string {
	if m < 1 || m > 12 {
		return strconv.Itoa(m)
	}
	return abbreviations[m-1]
}

var abbreviations = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

func put2(b []byte, n int) {
	b[0], b[1] = byte('0'+n/10%10), byte('0'+n%10)
}

func put4(b []byte, n int) {
	put2(b[0:2], n/100)
	put2(b[2:4], n%100)
}

// ParseISO reads a date stored on a credential: exactly YYYY-MM-DD.
func ParseISO(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("%q is not an ISO date (YYYY-MM-DD)", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !valid(y, m, d) {
		return Date{}, fmt.Errorf("%q is not an ISO date (YYYY-MM-DD)", s)
	}
	return Date{y, m, d}, nil
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(s) > 0
}

func valid(y, m, d int) bool {
	return y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= daysIn(y, m)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// Formats lists every supported format in preference order: when several
// formats read a column the same way, the first is the one to show.
var Formats = []string{
	"YYYY-MM-DD",
	"DD/MM/YYYY",
	"MM/DD/YYYY",
	"DD.MM.YYYY",
	"D MMM YYYY",
	"MMM D, YYYY",
	"YYYY/MM/DD",
	"DD-MM-YYYY",
	"MM-DD-YYYY",
	"DD/MM/YY",
	"MM/DD/YY",
	"DD.MM.YY",
	"D MMM YY",
}

type field uint8

const (
	year4 field = iota
	year2
	month
	day
)

type kind uint8

const (
	numeric kind = iota
	dayName      // D MMM YYYY
	nameDay      // MMM D, YYYY
)

// layout is how one of Formats is read; layouts[i] reads Formats[i].
type layout struct {
	kind       kind
	sep        byte     // numeric: the separator between fields
	order      [3]field // numeric: the fields in the order written
	yearDigits int      // named: 4 or 2
}

var layouts = [...]layout{
	{kind: numeric, sep: '-', order: [3]field{year4, month, day}},
	{kind: numeric, sep: '/', order: [3]field{day, month, year4}},
	{kind: numeric, sep: '/', order: [3]field{month, day, year4}},
	{kind: numeric, sep: '.', order: [3]field{day, month, year4}},
	{kind: dayName, yearDigits: 4},
	{kind: nameDay, yearDigits: 4},
	{kind: numeric, sep: '/', order: [3]field{year4, month, day}},
	{kind: numeric, sep: '-', order: [3]field{day, month, year4}},
	{kind: numeric, sep: '-', order: [3]field{month, day, year4}},
	{kind: numeric, sep: '/', order: [3]field{day, month, year2}},
	{kind: numeric, sep: '/', order: [3]field{month, day, year2}},
	{kind: numeric, sep: '.', order: [3]field{day, month, year2}},
	{kind: dayName, yearDigits: 2},
}

func init() {
	// Formats is exported for reading; a mismatch with layouts is a bug here.
	if len(Formats) != len(layouts) || len(Formats) > 32 {
		panic("dates: Formats and layouts disagree")
	}
}

func index(format string) int {
	for i, f := range Formats {
		if f == format {
			return i
		}
	}
	return -1
}

// Valid reports whether format is one of Formats.
func Valid(format string) bool { return index(format) >= 0 }

// Set is a set of formats: bit i stands for Formats[i].
type Set uint32

// All returns the set of every format.
func All() Set { return Set(1)<<len(layouts) - 1 }

// Formats returns the formats of the set in preference order.
func (s Set) Formats() []string {
	out := make([]string, 0, s.Len())
	for i, f := range Formats {
		if s&(1<<i) != 0 {
			out = append(out, f)
		}
	}
	return out
}

// Has reports whether format is in the set.
func (s Set) Has(format string) bool {
	i := index(format)
	return i >= 0 && s&(1<<i) != 0
}

// Len returns the number of formats in the set.
func (s Set) Len() int { return bits.OnesCount32(uint32(s & All())) }

// Fit returns the formats under which s is a valid date. A blank s fits
// every format, so blank cells never narrow down a column's format.
func Fit(s string) Set {
	s = strings.TrimSpace(s)
	if s == "" {
		return All()
	}
	var set Set
	if p, ok := scanNumeric(s); ok {
		for i := range layouts {
			if layouts[i].kind != numeric {
				continue
			}
			if _, ok := p.read(&layouts[i]); ok {
				set |= 1 << i
			}
		}
		return set
	}
	if n, ok := scanNamed(s); ok {
		for i := range layouts {
			if _, ok := n.read(&layouts[i]); ok {
				set |= 1 << i
			}
		}
	}
	return set
}

// Parse reads s under one format.
func Parse(s, format string) (Date, error) {
	i := index(format)
	if i < 0 {
		return Date{}, fmt.Errorf("unknown date format %q", format)
	}
	t := strings.TrimSpace(s)
	if d, ok := parse(t, &layouts[i]); ok {
		return d, nil
	}
	return Date{}, fmt.Errorf("%q is not a date in %s", t, format)
}

// In reads s under the one format of set, without allocating whether it
// reads or not; ok is false when it does not, or when set is not one
// format.
func In(s string, set Set) (Date, bool) {
	if set.Len() != 1 {
		return Date{}, false
	}
	return parse(strings.TrimSpace(s), &layouts[bits.TrailingZeros32(uint32(set))])
}

func parse(s string, l *layout) (Date, bool) {
	if l.kind == numeric {
		if d, ok := l.fixed(s); ok {
			return d, true
		}
		if p, ok := scanNumeric(s); ok {
			return p.read(l)
		}
		return Date{}, false
	}
	if n, ok := scanNamed(s); ok {
		return n.read(l)
	}
	return Date{}, false
}

// Resolve reads s under every format of set that reads it. When they all
// agree it returns that date and no readings. When they disagree s is
// ambiguous: d is zero, err is nil and readings holds the distinct dates, in
// preference order. err is set only when no format of set reads s.
func Resolve(s string, set Set) (d Date, readings []Date, err error) {
	t := strings.TrimSpace(s)
	found := false
	for i := range layouts {
		if set&(1<<i) == 0 {
			continue
		}
		r, ok := parse(t, &layouts[i])
		if !ok {
			continue
		}
		switch {
		case !found:
			d, found = r, true
		case r != d && !contains(readings, r):
			if readings == nil {
				readings = append(readings, d)
			}
			readings = append(readings, r)
		}
	}
	if !found {
		return Date{}, nil, fmt.Errorf("%q is not a date in %s", t, strings.Join(set.Formats(), " or "))
	}
	if readings != nil {
		return Date{}, readings, nil
	}
	return d, nil, nil
}

func contains(ds []Date, d Date) bool {
	for _, x := range ds {
		if x == d {
			return true
		}
	}
	return false
}

// numParts is a value of three digit groups split by one separator, with
// whatever follows the third group.
type numParts struct {
	v    [3]int
	w    [3]int // digits in each group
	sep  byte
	rest string
}

func scanNumeric(s string) (p numParts, ok bool) {
	i := 0
	for k := 0; k < 3; k++ {
		if k > 0 {
			if i >= len(s) {
				return p, false
			}
			c := s[i]
			if c != '-' && c != '/' && c != '.' || k == 2 && c != p.sep {
				return p, false
			}
			p.sep = c
			i++
		}
		start := i
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			n = n*10 + int(s[i]-'0')
			i++
			if i-start > 4 {
				return p, false
			}
		}
		if i == start {
			return p, false
		}
		p.v[k], p.w[k] = n, i-start
	}
	p.rest = s[i:]
	return p, true
}

func (p *numParts) read(l *layout) (Date, bool) {
	if l.kind != numeric || p.sep != l.sep {
		return Date{}, false
	}
	var y, m, d int
	for k, f := range l.order {
		v, w := p.v[k], p.w[k]
		switch f {
		case year4:
			if w != 4 || v < 1000 {
				return Date{}, false
			}
			y = v
		case year2:
			if w != 2 {
				return Date{}, false
			}
			y = pivot(v)
		case month:
			if w > 2 {
				return Date{}, false
			}
			m = v
		case day:
			if w > 2 {
				return Date{}, false
			}
			d = v
		}
	}
	if !valid(y, m, d) || !timeSuffix(p.rest, l.order[0] == year4) {
		return Date{}, false
	}
	return Date{y, m, d}, true
}

// fixed reads the form most dates are written in, two-digit day and month
// and a four-digit year ("15/01/2024", "2024-01-15"), at a glance. ok is
// false for a value in any other form, and for one that is not a date,
// which the general reading (scanNumeric) then reads or refuses: fixed
// only takes a short cut to what it would find.
func (l *layout) fixed(s string) (Date, bool) {
	if len(s) != 10 {
		return Date{}, false
	}
	var y, a, b int
	switch {
	case l.order[0] == year4 && s[4] == l.sep && s[7] == l.sep:
		y, a, b = two(s[0:2])*100+two(s[2:4]), two(s[5:7]), two(s[8:10])
		if l.order[1] == day {
			a, b = b, a
		}
	case l.order[2] == year4 && s[2] == l.sep && s[5] == l.sep:
		a, b, y = two(s[0:2]), two(s[3:5]), two(s[6:8])*100+two(s[8:10])
		if l.order[0] == day {
			a, b = b, a
		}
	default:
		return Date{}, false
	}
	// a is the month, b the day; a group that is not two digits is
	// negative, and so is the date.
	if y < 1000 || a < 0 || b < 0 || !valid(y, a, b) {
		return Date{}, false
	}
	return Date{y, a, b}, true
}

// two reads two digits, or returns a large negative number.
func two(s string) int {
	c, d := int(s[0])-'0', int(s[1])-'0'
	if uint(c) > 9 || uint(d) > 9 {
		return -1 << 20
	}
	return c*10 + d
}

// pivot reads a two-digit year: 00–69 are 2000–2069, 70–99 are 1970–1999.
func pivot(yy int) int {
	if yy < 70 {
		return 2000 + yy
	}
	return 1900 + yy
}

// timeSuffix reports whether rest, what follows a numeric date, is nothing
// or a time of day: " 0:00", " 10:30:00.000", " 1:05 PM", and, after a
// year-first date, "T10:30:00Z" or "T10:30:00+02:00".
func timeSuffix(rest string, allowT bool) bool {
	if rest == "" {
		return true
	}
	switch {
	case rest[0] == 'T' && allowT:
		rest = rest[1:]
	case rest[0] == ' ':
		rest = strings.TrimLeft(rest, " ")
	default:
		return false
	}
	i := 0
	num := func(minW, maxW int) (int, bool) {
		start, n := i, 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' && i-start < maxW {
			n = n*10 + int(rest[i]-'0')
			i++
		}
		return n, i-start >= minW
	}
	h, ok := num(1, 2)
	if !ok || h > 23 || i >= len(rest) || rest[i] != ':' {
		return false
	}
	i++
	if m, ok := num(2, 2); !ok || m > 59 {
		return false
	}
	if i < len(rest) && rest[i] == ':' {
		i++
		if sec, ok := num(2, 2); !ok || sec > 60 {
			return false
		}
		if i < len(rest) && (rest[i] == '.' || rest[i] == ',') {
			i++
			if _, ok := num(1, 9); !ok {
				return false
			}
		}
	}
	rest = strings.TrimLeft(rest[i:], " ")
	switch {
	case rest == "":
		return true
	case rest == "Z":
		return true
	case len(rest) == 2 && (rest[1] == 'M' || rest[1] == 'm') && strings.ContainsRune("AaPp", rune(rest[0])):
		return h >= 1 && h <= 12
	case rest[0] == '+' || rest[0] == '-':
		// A zone offset: hh, hhmm or hh:mm.
		z := rest[1:]
		switch len(z) {
		case 2:
			_, ok := digits(z)
			return ok
		case 4:
			_, ok := digits(z)
			return ok
		case 5:
			_, ok1 := digits(z[:2])
			_, ok2 := digits(z[3:])
			return ok1 && ok2 && z[2] == ':'
		}
	}
	return false
}

// named is a date written with a month name, day first ("15 Jan 2024") or
// month first ("Jan 15, 2024").
type named struct {
	kind       kind
	d, m, y    int
	yearDigits int
}

var monthNames = [12]string{
	"january", "february", "march", "april", "may", "june",
	"july", "august", "september", "october", "november", "december",
}

// monthName reads an English month name, full, abbreviated to three
// letters or "sept", in any case, with an optional trailing dot.
func monthName(s string) (m int, n int) {
	for n < len(s) && isLetter(s[n]) && n < 10 {
		n++
	}
	word := s[:n]
	if n < 3 || n > 9 {
		return 0, 0
	}
	for i, name := range monthNames {
		if n == 3 && equalFold(word, name[:3]) || equalFold(word, name) || i == 8 && equalFold(word, "sept") {
			m = i + 1
			break
		}
	}
	if m == 0 {
		return 0, 0
	}
	if n < len(s) && s[n] == '.' {
		n++
	}
	return m, n
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// equalFold compares an ASCII word with a lower-case name.
func equalFold(word, lower string) bool {
	if len(word) != len(lower) {
		return false
	}
	for i := 0; i < len(word); i++ {
		if word[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}

// number reads 1 to maxW digits.
func number(s string, maxW int) (v, n int) {
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		if n == maxW {
			return 0, 0
		}
		v = v*10 + int(s[n]-'0')
		n++
	}
	return v, n
}

// spaces counts leading spaces.
func spaces(s string) int {
	n := 0
	for n < len(s) && s[n] == ' ' {
		n++
	}
	return n
}

// nameSep reads what separates a day, month name and year: spaces, or one
// '-' or '/', optionally after a comma ("15 Jan, 2024" is not rare).
func nameSep(s string) int {
	n := 0
	if n < len(s) && s[n] == ',' {
		n++
	}
	if n < len(s) && (s[n] == '-' || s[n] == '/') {
		return n + 1
	}
	if sp := spaces(s[n:]); sp > 0 {
		return n + sp
	}
	return 0
}

func scanNamed(s string) (p named, ok bool) {
	if s == "" {
		return p, false
	}
	if s[0] >= '0' && s[0] <= '9' {
		p.kind = dayName
		d, n := number(s, 2)
		if n == 0 {
			return p, false
		}
		s = s[n:]
		sep := nameSep(s)
		if sep == 0 {
			return p, false
		}
		s = s[sep:]
		m, n := monthName(s)
		if m == 0 {
			return p, false
		}
		s = s[n:]
		sep = nameSep(s)
		if sep == 0 {
			return p, false
		}
		s = s[sep:]
		y, n := number(s, 4)
		if n != 2 && n != 4 || n != len(s) {
			return p, false
		}
		p.d, p.m, p.y, p.yearDigits = d, m, y, n
		return p, true
	}
	p.kind = nameDay
	m, n := monthName(s)
	if m == 0 {
		return p, false
	}
	s = s[n:]
	sp := spaces(s)
	if sp == 0 {
		return p, false
	}
	s = s[sp:]
	d, n := number(s, 2)
	if n == 0 {
		return p, false
	}
	s = s[n:]
	sep := 0
	if sep < len(s) && s[sep] == ',' {
		sep++
	}
	sep += spaces(s[sep:])
	if sep == 0 {
		return p, false
	}
	s = s[sep:]
	y, n := number(s, 4)
	if n != 4 || n != len(s) {
		return p, false
	}
	p.d, p.m, p.y, p.yearDigits = d, m, y, n
	return p, true
}

func (p *named) read(l *layout) (Date, bool) {
	if l.kind != p.kind || l.yearDigits != p.yearDigits {
		return Date{}, false
	}
	y := p.y
	if p.yearDigits == 2 {
		y = pivot(y)
	} else if y < 1000 {
		return Date{}, false
	}
	if !valid(y, p.m, p.d) {
		return Date{}, false
	}
	return Date{y, p.m, p.d}, true
}

// Excel date serials: 1 is 1900-01-01 in the 1900 system (which also counts
// a 1900-02-29 that never was, serial 60), 0 is 1904-01-01 in the 1904
// system, and both end at 9999-12-31.
const (
	maxSerial1900 = 2958465
	maxSerial1904 = maxSerial1900 - 1462
)

// ErrSerialRange is the error of a serial number outside Excel's dates.
var ErrSerialRange = errors.New("outside the range of spreadsheet dates")

// FromSerial returns the day an Excel serial number stands for, in the 1900
// date system or, when date1904, the 1904 one. The time of day (the
// fractional part) is ignored.
func FromSerial(serial float64, date1904 bool) (Date, error) {
	if math.IsNaN(serial) {
		return Date{}, fmt.Errorf("serial %v: %w", serial, ErrSerialRange)
	}
	n := math.Floor(serial)
	if date1904 {
		if n < 0 || n > maxSerial1904 {
			return Date{}, fmt.Errorf("serial %v: %w", serial, ErrSerialRange)
		}
		return fromDays(daysFromCivil(1904, 1, 1) + int(n)), nil
	}
	switch {
	case n < 1 || n > maxSerial1900:
		return Date{}, fmt.Errorf("serial %v: %w", serial, ErrSerialRange)
	case n == 60:
		return Date{}, fmt.Errorf("serial 60 is 1900-02-29, a day the 1900 date system counts but the calendar never had")
	case n < 60:
		return fromDays(daysFromCivil(1899, 12, 31) + int(n)), nil
	}
	return fromDays(daysFromCivil(1899, 12, 30) + int(n)), nil
}

// daysFromCivil counts days since 1970-01-01 (H. Hinnant's algorithm).
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// Days counts the days from 1970-01-01 to d.
func (d Date) Days() int { return daysFromCivil(d.Year, d.Month, d.Day) }

// FromDays returns the day n days after 1970-01-01.
func FromDays(n int) Date { return fromDays(n) }

func fromDays(z int) Date {
	z += 719468
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{y, m, d}
}

// SerialLike reports whether s is a bare number in the range of date
// serials (1 to 9999-12-31's 2958465, integer or decimal, no sign, no
// exponent, no leading zero), so "45306" in a CSV date column is read as the
// serial a spreadsheet program exported instead of as an invalid date.
func SerialLike(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '0' {
		return 0, false
	}
	dot := -1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c == '.' && dot < 0 && i > 0 && i < len(s)-1:
			dot = i
		default:
			return 0, false
		}
	}
	intPart := s
	if dot >= 0 {
		intPart = s[:dot]
	}
	if len(intPart) > 7 {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 1 || v >= maxSerial1900+1 {
		return 0, false
	}
	return v, true
}
