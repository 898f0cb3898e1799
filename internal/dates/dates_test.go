package dates

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		format  string
		want    Date
		wantErr string
	}{
		{"iso", "2024-01-15", "YYYY-MM-DD", Date{2024, 1, 15}, ""},
		{"iso single digits", "2024-1-5", "YYYY-MM-DD", Date{2024, 1, 5}, ""},
		{"iso with midnight time", "2024-01-15 00:00:00", "YYYY-MM-DD", Date{2024, 1, 15}, ""},
		{"iso with T and Z", "2024-01-15T10:30:00Z", "YYYY-MM-DD", Date{2024, 1, 15}, ""},
		{"iso with fraction and offset", "2024-01-15T10:30:00.123+02:00", "YYYY-MM-DD", Date{2024, 1, 15}, ""},
		{"iso with bad time", "2024-01-15 25:00", "YYYY-MM-DD", Date{}, `"2024-01-15 25:00" is not a date in YYYY-MM-DD`},
		{"iso with trailing text", "2024-01-15 approx", "YYYY-MM-DD", Date{}, "is not a date in YYYY-MM-DD"},
		{"surrounding whitespace", "  15/01/2024\t", "DD/MM/YYYY", Date{2024, 1, 15}, ""},
		{"day first", "15/01/2024", "DD/MM/YYYY", Date{2024, 1, 15}, ""},
		{"day first one digit", "1/2/2024", "DD/MM/YYYY", Date{2024, 2, 1}, ""},
		{"month first one digit", "1/2/2024", "MM/DD/YYYY", Date{2024, 1, 2}, ""},
		{"month first with excel time", "1/15/2024 0:00", "MM/DD/YYYY", Date{2024, 1, 15}, ""},
		{"month first with pm time", "1/15/2024 1:05 PM", "MM/DD/YYYY", Date{2024, 1, 15}, ""},
		{"T suffix only after year first", "15/01/2024T10:00", "DD/MM/YYYY", Date{}, "is not a date in DD/MM/YYYY"},
		{"no 31 February", "31/02/2024", "DD/MM/YYYY", Date{}, `"31/02/2024" is not a date in DD/MM/YYYY`},
		{"leap day in leap year", "29/02/2024", "DD/MM/YYYY", Date{2024, 2, 29}, ""},
		{"no leap day in 2023", "29/02/2023", "DD/MM/YYYY", Date{}, "is not a date"},
		{"no leap day in 1900", "29.02.1900", "DD.MM.YYYY", Date{}, "is not a date"},
		{"leap day in 2000", "29.02.2000", "DD.MM.YYYY", Date{2000, 2, 29}, ""},
		{"month 13", "13/13/2024", "DD/MM/YYYY", Date{}, "is not a date"},
		{"day 0", "0/12/2024", "DD/MM/YYYY", Date{}, "is not a date"},
		{"wrong separator", "15-01-2024", "DD/MM/YYYY", Date{}, "is not a date"},
		{"mixed separators", "15/01-2024", "DD/MM/YYYY", Date{}, "is not a date"},
		{"dotted", "15.01.2024", "DD.MM.YYYY", Date{2024, 1, 15}, ""},
		{"dashed day first", "15-01-2024", "DD-MM-YYYY", Date{2024, 1, 15}, ""},
		{"dashed month first", "01-15-2024", "MM-DD-YYYY", Date{2024, 1, 15}, ""},
		{"year first slashes", "2024/01/15", "YYYY/MM/DD", Date{2024, 1, 15}, ""},
		{"three digit day", "015/01/2024", "DD/MM/YYYY", Date{}, "is not a date"},
		{"two digit year where four expected", "15/01/24", "DD/MM/YYYY", Date{}, "is not a date"},
		{"year before 1000", "15/01/0999", "DD/MM/YYYY", Date{}, "is not a date"},
		{"two digit year 24", "15/01/24", "DD/MM/YY", Date{2024, 1, 15}, ""},
		{"two digit year 69 is 2069", "01/01/69", "DD/MM/YY", Date{2069, 1, 1}, ""},
		{"two digit year 70 is 1970", "01/01/70", "MM/DD/YY", Date{1970, 1, 1}, ""},
		{"two digit year 99 is 1999", "31.12.99", "DD.MM.YY", Date{1999, 12, 31}, ""},
		{"two digit year 00 is 2000", "29.02.00", "DD.MM.YY", Date{2000, 2, 29}, ""},
		{"four digit year where two expected", "15/01/2024", "DD/MM/YY", Date{}, "is not a date"},
		{"month name", "15 Jan 2024", "D MMM YYYY", Date{2024, 1, 15}, ""},
		{"month name full any case", "5 SEPTEMBER 2024", "D MMM YYYY", Date{2024, 9, 5}, ""},
		{"month name sept", "5 sept 2024", "D MMM YYYY", Date{2024, 9, 5}, ""},
		{"month name dashed", "15-Jan-2024", "D MMM YYYY", Date{2024, 1, 15}, ""},
		{"month name with dot", "15 Jan. 2024", "D MMM YYYY", Date{2024, 1, 15}, ""},
		{"month name spaces collapsed", "15  Jan   2024", "D MMM YYYY", Date{2024, 1, 15}, ""},
		{"month name two digit year", "15-Jan-24", "D MMM YY", Date{2024, 1, 15}, ""},
		{"month name unknown", "15 Jam 2024", "D MMM YYYY", Date{}, "is not a date"},
		{"month name four letters", "15 Janu 2024", "D MMM YYYY", Date{}, "is not a date"},
		{"month name 31 april", "31 Apr 2024", "D MMM YYYY", Date{}, "is not a date"},
		{"month first name", "Jan 15, 2024", "MMM D, YYYY", Date{2024, 1, 15}, ""},
		{"month first full name no comma", "January 15 2024", "MMM D, YYYY", Date{2024, 1, 15}, ""},
		{"month first with dot", "Sept. 3, 2024", "MMM D, YYYY", Date{2024, 9, 3}, ""},
		{"month first two digit year", "Jan 15, 24", "MMM D, YYYY", Date{}, "is not a date"},
		{"empty", "", "YYYY-MM-DD", Date{}, `"" is not a date in YYYY-MM-DD`},
		{"unknown format", "2024-01-15", "YYYYMMDD", Date{}, `unknown date format "YYYYMMDD"`},
		{"text", "soon", "DD/MM/YYYY", Date{}, "is not a date"},
		{"serial is not a date string", "45306", "YYYY-MM-DD", Date{}, "is not a date"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in, tt.format)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q, %q) = %v, %v; want error containing %q", tt.in, tt.format, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q, %q) = %v, %v; want %v", tt.in, tt.format, got, err, tt.want)
			}
		})
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"iso", "2024-01-15", []string{"YYYY-MM-DD"}},
		{"iso with time", "2024-01-15 00:00:00", []string{"YYYY-MM-DD"}},
		{"ambiguous day and month", "01/02/2024", []string{"DD/MM/YYYY", "MM/DD/YYYY"}},
		{"one digit day and month", "1/2/2024", []string{"DD/MM/YYYY", "MM/DD/YYYY"}},
		{"day over 12", "15/01/2024", []string{"DD/MM/YYYY"}},
		{"month first only", "01/15/2024", []string{"MM/DD/YYYY"}},
		{"same day and month", "05/05/2024", []string{"DD/MM/YYYY", "MM/DD/YYYY"}},
		{"two digit year", "01/02/24", []string{"DD/MM/YY", "MM/DD/YY"}},
		{"dotted", "15.01.2024", []string{"DD.MM.YYYY"}},
		{"dashed", "01-02-2024", []string{"DD-MM-YYYY", "MM-DD-YYYY"}},
		{"year first slashes", "2024/01/15", []string{"YYYY/MM/DD"}},
		{"month name", "15 Jan 2024", []string{"D MMM YYYY"}},
		{"month name two digit year", "15-Jan-24", []string{"D MMM YY"}},
		{"month first name", "Jan 15, 2024", []string{"MMM D, YYYY"}},
		{"invalid everywhere", "31/02/2024", nil},
		{"thirteenth month either way", "13/13/2024", nil},
		{"text", "n/a", nil},
		{"serial", "45306", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fit(tt.in).Formats()
			if !slices.Equal(got, tt.want) && !(len(got) == 0 && len(tt.want) == 0) {
				t.Errorf("Fit(%q) = %v; want %v", tt.in, got, tt.want)
			}
		})
	}
	t.Run("blank fits every format", func(t *testing.T) {
		for _, in := range []string{"", "   "} {
			if got := Fit(in); got != All() || got.Len() != len(Formats) {
				t.Errorf("Fit(%q) = %v; want every format", in, got.Formats())
			}
		}
	})
}

// Fit and Parse must agree: a format is in Fit(s) exactly when Parse(s) under
// it succeeds.
func TestFitAgreesWithParse(t *testing.T) {
	inputs := []string{
		"2024-01-15", "1/2/2024", "15/01/2024", "01-02-24", "15 Jan 2024", "Jan 15, 2024",
		"15-Jan-24", "2024/1/2", "29.02.2023", "x", "2024-01-15T10:00:00Z", "15/01/2024 10:00",
	}
	for _, in := range inputs {
		fit := Fit(in)
		for _, f := range Formats {
			_, err := Parse(in, f)
			if (err == nil) != fit.Has(f) {
				t.Errorf("%q under %s: Parse error %v but Fit has it = %v", in, f, err, fit.Has(f))
			}
		}
	}
}

func TestResolve(t *testing.T) {
	dmy, mdy := Set(1<<1), Set(1<<2)
	tests := []struct {
		name         string
		in           string
		set          Set
		want         Date
		wantReadings []Date
		wantErr      bool
	}{
		{"one format", "01/02/2024", dmy, Date{2024, 2, 1}, nil, false},
		{"formats agree", "05/05/2024", dmy | mdy, Date{2024, 5, 5}, nil, false},
		{"formats disagree", "01/02/2024", dmy | mdy, Date{}, []Date{{2024, 2, 1}, {2024, 1, 2}}, false},
		{"only one format reads it", "15/01/2024", dmy | mdy, Date{2024, 1, 15}, nil, false},
		{"all formats, unambiguous", "2024-01-15", All(), Date{2024, 1, 15}, nil, false},
		{"no format reads it", "31/02/2024", dmy | mdy, Date{}, nil, true},
		{"empty set", "2024-01-15", 0, Date{}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, readings, err := Resolve(tt.in, tt.set)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Resolve(%q) error = %v; want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want || !slices.Equal(readings, tt.wantReadings) {
				t.Errorf("Resolve(%q) = %v, %v; want %v, %v", tt.in, got, readings, tt.want, tt.wantReadings)
			}
		})
	}
}

func TestFromSerial(t *testing.T) {
	tests := []struct {
		name     string
		serial   float64
		date1904 bool
		want     string
		wantErr  bool
	}{
		{"first day", 1, false, "1900-01-01", false},
		{"last real day before the fictitious one", 59, false, "1900-02-28", false},
		{"fictitious 1900-02-29", 60, false, "", true},
		{"day after", 61, false, "1900-03-01", false},
		{"ordinary", 45306, false, "2024-01-15", false},
		{"time of day ignored", 45306.99, false, "2024-01-15", false},
		{"last day", 2958465, false, "9999-12-31", false},
		{"past the last day", 2958466, false, "", true},
		{"zero", 0, false, "", true},
		{"negative", -1, false, "", true},
		{"not a number", math.NaN(), false, "", true},
		{"infinite", math.Inf(1), false, "", true},
		{"1904 epoch", 0, true, "1904-01-01", false},
		{"1904 ordinary", 43844, true, "2024-01-15", false},
		{"1904 last day", 2957003, true, "9999-12-31", false},
		{"1904 past the last day", 2957004, true, "", true},
		{"1904 negative", -1, true, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromSerial(tt.serial, tt.date1904)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("FromSerial(%v) = %v; want error", tt.serial, got)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("FromSerial(%v, %v) = %v, %v; want %s", tt.serial, tt.date1904, got, err, tt.want)
			}
		})
	}
	t.Run("out of range wraps ErrSerialRange", func(t *testing.T) {
		if _, err := FromSerial(-5, false); !errors.Is(err, ErrSerialRange) {
			t.Errorf("error %v does not wrap ErrSerialRange", err)
		}
	})
	t.Run("agrees with the time package", func(t *testing.T) {
		base1900 := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)
		base1904 := time.Date(1904, 1, 1, 0, 0, 0, 0, time.UTC)
		for n := 61; n <= 2958465; n += 997 {
			got, err := FromSerial(float64(n), false)
			if want := FromTime(base1900.AddDate(0, 0, n)); err != nil || got != want {
				t.Fatalf("FromSerial(%d) = %v, %v; want %v", n, got, err, want)
			}
			got, err = FromSerial(float64(n), true)
			if want := FromTime(base1904.AddDate(0, 0, n)); n <= 2957003 && (err != nil || got != want) {
				t.Fatalf("FromSerial(%d, 1904) = %v, %v; want %v", n, got, err, want)
			}
		}
	})
}

func TestSerialLike(t *testing.T) {
	tests := []struct {
		in   string
		want float64
		ok   bool
	}{
		{"45306", 45306, true},
		{" 45306 ", 45306, true},
		{"45306.5", 45306.5, true},
		{"1", 1, true},
		{"2958465", 2958465, true},
		{"2958465.9", 2958465.9, true},
		{"2958466", 0, false},
		{"20240115", 0, false},
		{"0", 0, false},
		{"0.5", 0, false},
		{"045306", 0, false},
		{"-45306", 0, false},
		{"+45306", 0, false},
		{"4.5e4", 0, false},
		{"45306.", 0, false},
		{".5", 0, false},
		{"45,306", 0, false},
		{"2024-01-15", 0, false},
		{"", 0, false},
		{"NaN", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := SerialLike(tt.in)
			if ok != tt.ok || got != tt.want {
				t.Errorf("SerialLike(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestDate(t *testing.T) {
	t.Run("String pads", func(t *testing.T) {
		if got := (Date{987, 1, 5}).String(); got != "0987-01-05" {
			t.Errorf("String() = %q", got)
		}
		if got := (Date{2024, 12, 31}).String(); got != "2024-12-31" {
			t.Errorf("String() = %q", got)
		}
	})
	t.Run("IsZero", func(t *testing.T) {
		if !(Date{}).IsZero() || (Date{2024, 1, 1}).IsZero() {
			t.Error("IsZero is wrong")
		}
	})
	t.Run("Before", func(t *testing.T) {
		tests := []struct {
			a, b Date
			want bool
		}{
			{Date{2024, 1, 15}, Date{2024, 1, 16}, true},
			{Date{2024, 1, 16}, Date{2024, 1, 15}, false},
			{Date{2024, 1, 15}, Date{2024, 1, 15}, false},
			{Date{2023, 12, 31}, Date{2024, 1, 1}, true},
			{Date{2024, 2, 1}, Date{2024, 1, 31}, false},
		}
		for _, tt := range tests {
			if got := tt.a.Before(tt.b); got != tt.want {
				t.Errorf("%v.Before(%v) = %v", tt.a, tt.b, got)
			}
		}
	})
	t.Run("FromTime uses the time's own day", func(t *testing.T) {
		loc := time.FixedZone("UTC+10", 10*3600)
		tm := time.Date(2024, 1, 15, 23, 30, 0, 0, loc)
		if got := FromTime(tm); got != (Date{2024, 1, 15}) {
			t.Errorf("FromTime = %v", got)
		}
	})
	t.Run("Format", func(t *testing.T) {
		d := Date{2024, 9, 5}
		want := map[string]string{
			"YYYY-MM-DD": "2024-09-05", "DD/MM/YYYY": "05/09/2024", "MM/DD/YYYY": "09/05/2024",
			"D MMM YYYY": "5 Sep 2024", "MMM D, YYYY": "Sep 5, 2024", "DD.MM.YY": "05.09.24",
			"no such format": "2024-09-05",
		}
		for f, w := range want {
			if got := d.Format(f); got != w {
				t.Errorf("Format(%q) = %q; want %q", f, got, w)
			}
		}
	})
}

func TestParseISO(t *testing.T) {
	tests := []struct {
		in   string
		want Date
		ok   bool
	}{
		{"2024-01-15", Date{2024, 1, 15}, true},
		{"2024-02-29", Date{2024, 2, 29}, true},
		{"2023-02-29", Date{}, false},
		{"2024-1-15", Date{}, false},
		{"2024-01-15T00:00:00Z", Date{}, false},
		{" 2024-01-15", Date{}, false},
		{"15/01/2024", Date{}, false},
		{"0000-01-01", Date{}, false},
		{"", Date{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseISO(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParseISO(%q) = %v, %v; want %v (ok %v)", tt.in, got, err, tt.want, tt.ok)
			}
		})
	}
}

func TestSet(t *testing.T) {
	if !Valid("DD/MM/YYYY") || Valid("dd/mm/yyyy") || Valid("") {
		t.Error("Valid accepts only the listed formats, exactly")
	}
	if got := All().Formats(); !slices.Equal(got, Formats) {
		t.Errorf("All().Formats() = %v", got)
	}
	var empty Set
	if empty.Len() != 0 || empty.Has("YYYY-MM-DD") || len(empty.Formats()) != 0 {
		t.Error("the empty set has formats")
	}
	if All().Has("no such format") {
		t.Error("Has accepts an unknown format")
	}
	for _, f := range []string{"YYYY-MM-DD", "DD/MM/YYYY", "MM/DD/YYYY", "DD.MM.YYYY", "D MMM YYYY", "MMM D, YYYY",
		"DD/MM/YY", "MM/DD/YY", "DD.MM.YY", "YYYY/MM/DD", "DD-MM-YYYY", "MM-DD-YYYY"} {
		if !All().Has(f) {
			t.Errorf("format %s is missing", f)
		}
	}
}

// Reading dates is on the hot path of every date cell: ordinary values must
// not allocate.
func TestNoAllocations(t *testing.T) {
	for _, in := range []string{"2024-01-15", "15/01/2024", "1/2/24", "15 Jan 2024", "Jan 15, 2024", "2024-01-15T10:30:00Z"} {
		if n := testing.AllocsPerRun(100, func() { Fit(in) }); n != 0 {
			t.Errorf("Fit(%q) allocates %v times", in, n)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse("15/01/2024", "DD/MM/YYYY") }); n != 0 {
		t.Errorf("Parse allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = SerialLike("45306") }); n != 0 {
		t.Errorf("SerialLike allocates %v times", n)
	}
}

// fixed is a short cut through scanNumeric: wherever it reads a value, the
// general reading must read the same date.
func TestFixedAgreesWithScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789/-. x"
	for range 200_000 {
		var b [10]byte
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		if r.IntN(2) == 0 {
			// Mostly digits, separators where the fixed forms have them.
			for i := range b {
				b[i] = byte('0' + r.IntN(10))
			}
			sep := "/-."[r.IntN(3)]
			if r.IntN(2) == 0 {
				b[2], b[5] = sep, sep
			} else {
				b[4], b[7] = sep, sep
			}
		}
		s := string(b[:])
		for i := range layouts {
			l := &layouts[i]
			if l.kind != numeric {
				continue
			}
			d, ok := l.fixed(s)
			p, scanned := scanNumeric(s)
			var want Date
			var wantOK bool
			if scanned {
				want, wantOK = p.read(l)
			}
			if ok && (!wantOK || d != want) {
				t.Fatalf("%s under %s: fixed reads %v, the general reading %v (%v)", s, Formats[i], d, want, wantOK)
			}
		}
	}
	for _, s := range []string{"15/01/2024", "2024-01-15", "01.12.1999", "12-31-2030"} {
		read := false
		for i := range layouts {
			if _, ok := layouts[i].fixed(s); ok {
				read = true
			}
		}
		if !read {
			t.Errorf("no layout reads %s at a glance", s)
		}
	}
}

func TestIn(t *testing.T) {
	ddmm := Fit("15/01/2024")
	tests := []struct {
		s    string
		set  Set
		want Date
		ok   bool
	}{
		{" 15/01/2024 ", ddmm, Date{2024, 1, 15}, true},
		{"1/2/2024", ddmm, Date{2024, 2, 1}, true},
		{"2024-01-15", ddmm, Date{}, false},
		{"15/01/2024", ddmm | Fit("2024-01-15"), Date{}, false}, // two formats
		{"15/01/2024", 0, Date{}, false},
	}
	for _, tt := range tests {
		if d, ok := In(tt.s, tt.set); d != tt.want || ok != tt.ok {
			t.Errorf("In(%q, %v) = %v, %v; want %v, %v", tt.s, tt.set.Formats(), d, ok, tt.want, tt.ok)
		}
	}
	if n := testing.AllocsPerRun(100, func() { In("2024-01-15", ddmm) }); n != 0 {
		t.Errorf("In allocates %v times for a value it does not read", n)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"2024-01-15", "1/2/2024", "15 Jan. 2024", "Sept 3, 2024", "29.02.00", "15-Jan-24", "2024-01-15T10:30:00+02:00", "1/15/2024 1:05 PM"} {
		for i := range Formats {
			f.Add(s, uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, s string, fi uint8) {
		format := Formats[int(fi)%len(Formats)]
		d, err := Parse(s, format)
		if Fit(s).Has(format) != (err == nil) && strings.TrimSpace(s) != "" {
			t.Fatalf("Fit(%q) and Parse under %s disagree (err %v)", s, format, err)
		}
		if err != nil {
			return
		}
		out := d.Format(format)
		back, err := Parse(out, format)
		if err != nil || back != d {
			t.Fatalf("Parse(%q, %s) = %v, formatted %q, parsed back %v, %v", s, format, d, out, back, err)
		}
		if _, err := ParseISO(d.String()); err != nil {
			t.Fatalf("Parse(%q, %s) = %v, not a valid ISO date: %v", s, format, d, err)
		}
	})
}

var sink Set

func BenchmarkFit(b *testing.B) {
	inputs := []string{"2024-01-15", "15/01/2024", "1/2/2024", "15 Jan 2024", "Jan 15, 2024", "2024-01-15 00:00:00"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		sink = Fit(inputs[i%len(inputs)])
	}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("15/01/2024", "DD/MM/YYYY"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkResolve(b *testing.B) {
	set := Fit("15/01/2024") | Fit("01/15/2024")
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Resolve("15/01/2024", set); err != nil {
			b.Fatal(err)
		}
	}
}

func TestDaysRoundTrip(t *testing.T) {
	for _, d := range []Date{{1970, 1, 1}, {1900, 3, 1}, {1, 1, 1}, {2024, 2, 29}, {9999, 12, 31}} {
		if got := FromDays(d.Days()); got != d {
			t.Errorf("FromDays(%v.Days()) = %v", d, got)
		}
	}
	if n := (Date{1970, 1, 2}).Days(); n != 1 {
		t.Errorf("1970-01-02 is %d days after 1970-01-01, want 1", n)
	}
}
