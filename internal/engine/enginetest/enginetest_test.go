package enginetest

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/sheet"
)

// The workload is what its package doc promises: every row read back, a
// third of them renewals, a few percent errors, the same report whatever
// the file format or the order of the rows.
func TestWorkload(t *testing.T) {
	const rows, creds = 3000, 3000
	dir := t.TempDir()
	files := []struct {
		name  string
		write func(string, int, int) error
	}{
		{"rows.csv", WriteCSV},
		{"shuffled.csv", WriteShuffledCSV},
		{"rows.xlsx", WriteXLSX},
	}
	in := engine.Input{Group: Group(), Credentials: Credentials(creds), Now: Now}
	if got := len(in.Credentials); got != creds+creds/100 {
		t.Fatalf("%d credentials, want %d of the group and %d of another", got, creds, creds/100)
	}
	var first bulk.Summary
	for i, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, f.name)
			if err := f.write(path, rows, creds); err != nil {
				t.Fatal(err)
			}
			src, err := sheet.OpenFile(path, sheet.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			rep, err := engine.Run(context.Background(), src, in, func(engine.Outcome) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			s := rep.Summary
			if rep.DataRows != rows || s.Update+s.Unchanged+s.Error != rows {
				t.Errorf("%d data rows, summary %+v; want %d rows", rep.DataRows, s, rows)
			}
			if s.Renewals < rows*3/10 || s.Renewals > rows*4/10 {
				t.Errorf("%d renewals, want about a third of %d", s.Renewals, rows)
			}
			if s.Error < rows*3/100 || s.Error > rows*8/100 {
				t.Errorf("%d errors, want about 5%% of %d", s.Error, rows)
			}
			if rep.Format == sheet.FormatCSV && rep.DateFormat != "DD/MM/YYYY" {
				t.Errorf("date format %q, want DD/MM/YYYY inferred", rep.DateFormat)
			}
			if i == 0 {
				first = s
			} else if s != first {
				t.Errorf("summary %+v, want %+v as for %s", s, first, files[0].name)
			}
		})
	}
}

// A sheet with more rows than credentials has rows about newcomers and
// second rows for the same credentials: errors.
func TestMoreRowsThanCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.csv")
	if err := WriteCSV(path, 2000, 500); err != nil {
		t.Fatal(err)
	}
	src, err := sheet.OpenFile(path, sheet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	counts := map[string]int{}
	_, err = engine.Run(context.Background(), src, engine.Input{Group: Group(), Credentials: Credentials(500), Now: Now},
		func(o engine.Outcome) error {
			for _, e := range o.Row.Errors {
				counts[e.Code]++
			}
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if counts[bulk.ErrNoMatch] < 1300 || counts[bulk.ErrDuplicateTarget] < 150 {
		t.Errorf("errors %v, want most of the 1500 extra rows no_match and some duplicate_target", counts)
	}
}
