package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/dates"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/reportout"
	"github.com/credup/credup/internal/sheet"
)

// runCheck is the validation engine offline: the report for one sheet
// against the tenant's credentials, without any AWS.
func runCheck(ctx context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	groupPath := fs.String("group", "", "the group being updated (JSON)")
	credsPath := fs.String("credentials", "", "the tenant's credentials, one JSON per line")
	mappingPath := fs.String("mapping", "", "the column mapping (JSON)")
	dateFormat := fs.String("date-format", "", "the date format of the sheet, e.g. DD/MM/YYYY")
	matchBy := fs.String("match-by", "", "credential.id, recipient.id, recipient.email or custom.<key>")
	nowFlag := fs.String("now", "", "the date renewals are judged at (YYYY-MM-DD; default today)")
	format := fs.String("format", "json", "json or text")
	sheetName := fs.String("sheet", "", "the sheet to read (default: the first non-empty one)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one SHEET, got %d", len(pos))
	}
	if *format != "json" && *format != "text" {
		return usagef("--format must be json or text, not %q", *format)
	}
	now := time.Now().UTC()
	if *nowFlag != "" {
		d, err := dates.ParseISO(*nowFlag)
		if err != nil {
			return usagef("--now must be YYYY-MM-DD: %v", err)
		}
		now = time.Date(d.Year, time.Month(d.Month), d.Day, 0, 0, 0, 0, time.UTC)
	}
	group, err := readGroup(*groupPath)
	if err != nil {
		return err
	}
	creds, err := readCredentials(*credsPath)
	if err != nil {
		return err
	}
	m, err := readMapping(*mappingPath)
	if err != nil {
		return err
	}
	if *dateFormat != "" {
		m.DateFormat = *dateFormat
	}
	if *matchBy != "" {
		m.MatchBy = *matchBy
	}
	src, err := sheet.OpenFile(pos[0], sheet.Options{Sheet: *sheetName})
	if err != nil {
		return usagef("%v", err)
	}
	defer src.Close()
	in := engine.Input{Group: group, Credentials: creds, Mapping: m, Now: now}
	var rep *bulk.Report
	if *format == "json" {
		// Rows are spooled, not held: memory grows with the credentials only.
		_, err = reportout.Writer{KeepHTML: true, Newline: true}.WriteJSON(ctx, stdout, src, in)
	} else {
		rep, err = engine.Check(ctx, src, in)
	}
	if err != nil {
		var se *sheet.Error
		var be *bulk.Error
		if errors.As(err, &se) || errors.As(err, &be) || errors.Is(err, os.ErrNotExist) {
			return usagef("%s: %v", pos[0], errorText(err))
		}
		return fmt.Errorf("check %s: %w", pos[0], err)
	}
	if rep != nil {
		return writeText(stdout, rep)
	}
	return nil
}

func errorText(err error) string {
	var be *bulk.Error
	if errors.As(err, &be) {
		return be.Message
	}
	return err.Error()
}
