package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/sheet"
)

// writeText prints a report for people: summary first, then what needs a
// decision (columns to place, errors, warnings), then the changes.
func writeText(out io.Writer, rep *bulk.Report) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }

	where := rep.Format
	if rep.Sheet != "" {
		where += fmt.Sprintf(", sheet %q", rep.Sheet)
	}
	if rep.Encoding != "" && rep.Format == "csv" {
		where += ", " + rep.Encoding
	}
	p("Read %s: header on row %d, %d data rows.\n", where, rep.HeaderRow, rep.DataRows)
	match := rep.MatchBy
	if match == "" {
		match = "nothing (no key column is mapped)"
	}
	dateLine := "no dates written as text"
	if len(rep.DateFormatCandidates) > 0 || rep.DateFormat != "" {
		chosen := rep.DateFormat
		if chosen == "" {
			chosen = "not chosen"
		}
		fits := strings.Join(rep.DateFormatCandidates, ", ")
		if fits == "" {
			fits = "no single format"
		}
		dateLine = fmt.Sprintf("date format %s (the dates fit: %s)", chosen, fits)
	}
	p("Rows matched by %s; %s.\n\n", match, dateLine)

	s := rep.Summary
	p("Summary\n")
	p("  update\t%d\t\n", s.Update)
	p("  unchanged\t%d\t\n", s.Unchanged)
	p("  error\t%d\t\n", s.Error)
	p("  warning\t%d\t(to confirm before commit)\n", s.Warning)
	p("  renewals\t%d\t(%d credits)\n\n", s.Renewals, s.CreditsRequired)

	p("Columns\n")
	for _, c := range rep.Columns {
		col := sheet.ColumnLetter(c.Index)
		switch c.How {
		case bulk.HowUnmapped:
			p("  %s\t%s\t-> unmapped: assign it or skip it\t\n", col, c.Header)
		case bulk.HowSkip:
			p("  %s\t%s\t-> skipped\t\n", col, c.Header)
		default:
			p("  %s\t%s\t-> %s\t(%s, %.0f%%)\n", col, c.Header, c.Attribute, c.How, c.Confidence*100)
		}
	}

	section := func(title string, pick func(bulk.Row) []bulk.Issue) {
		n := 0
		for _, r := range rep.Rows {
			n += len(pick(r))
		}
		if n == 0 {
			return
		}
		p("\n%s (%d)\n", title, n)
		for _, r := range rep.Rows {
			for _, e := range pick(r) {
				col := e.Column
				if col == "" {
					col = "-"
				}
				p("  row %d\t%s\t%s\t%s\n", r.Row, col, e.Code, e.Message)
			}
		}
	}
	section("Errors", func(r bulk.Row) []bulk.Issue { return r.Errors })
	section("Warnings", func(r bulk.Row) []bulk.Issue { return r.Warnings })
	section("Notes", func(r bulk.Row) []bulk.Issue { return r.Notes })

	if s.Update > 0 {
		p("\nChanges (%d rows)\n", s.Update)
		for _, r := range rep.Rows {
			if r.Outcome != bulk.OutcomeUpdate {
				continue
			}
			for i, c := range r.Changes {
				lead := fmt.Sprintf("  row %d\t%s", r.Row, r.CredentialID)
				if i > 0 {
					lead = "  \t"
				}
				tail := ""
				if r.Renewal && c.Field == bulk.AttrExpiresOn {
					tail = "  [renewal]"
				}
				p("%s\t%s\t%s -> %s%s\n", lead, c.Field, quoteBlank(c.From), quoteBlank(c.To), tail)
			}
		}
	}
	return w.Flush()
}

func quoteBlank(s string) string {
	if s == "" {
		return `""`
	}
	return s
}
