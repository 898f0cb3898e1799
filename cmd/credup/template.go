package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/template"
)

// runTemplate writes the spreadsheet template of a group, optionally
// pre-filled with its current credentials.
func runTemplate(_ context.Context, args []string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("template", flag.ContinueOnError)
	groupPath := fs.String("group", "", "the group (JSON)")
	credsPath := fs.String("credentials", "", "the tenant's credentials, one JSON per line (with --prefill)")
	prefill := fs.Bool("prefill", false, "one row per current credential of the group")
	format := fs.String("format", "", "csv or xlsx")
	output := fs.String("output", "", "file to write (default: standard output)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *format != "csv" && *format != "xlsx" {
		return usagef("--format must be csv or xlsx")
	}
	if *prefill && *credsPath == "" {
		return usagef("--prefill needs --credentials FILE.jsonl")
	}
	group, err := readGroup(*groupPath)
	if err != nil {
		return err
	}
	var creds []bulk.Credential
	if *prefill {
		if creds, err = readCredentials(*credsPath); err != nil {
			return err
		}
		if creds == nil {
			creds = []bulk.Credential{}
		}
	}
	w := stdout
	if *output != "" {
		f, err := os.Create(*output)
		if err != nil {
			return usagef("create %s: %v", *output, err)
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	if err := template.Write(bw, *format, group, creds); err != nil {
		return fmt.Errorf("write template: %w", err)
	}
	return bw.Flush()
}
