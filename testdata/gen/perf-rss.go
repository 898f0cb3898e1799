//go:build ignore

// perf-rss measures a whole validation as `credup check --format json` runs
// it: credentials read from JSON lines, the sheet streamed, the report
// written. Build it, then run it under /usr/bin/time -v for the peak RSS
// (docs/performance.md has the figures and the exact commands):
//
//	go build -o /tmp/perf-rss testdata/gen/perf-rss.go
//	/tmp/perf-rss gen -dir /tmp/credup-perf -rows 1000000 -creds 100000
//	/usr/bin/time -v /tmp/perf-rss check -dir /tmp/credup-perf -sheet sheet-1000000.csv -out /tmp/credup-perf/report.json
//
// gen writes group.json, credentials.jsonl and the sheet (CSV, or XLSX with
// -xlsx) of the enginetest workload into -dir. check validates one sheet of
// -dir against its credentials and writes the report: -report stream (the
// default) through reportout.WriteJSON, check through engine.Check and
// json.MarshalIndent (every row in memory, as credup check does today), or
// none (engine.Run, rows counted and dropped). It prints what it did to
// stderr. Running it with go run would measure the compiler too.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/engine"
	"github.com/credup/credup/internal/engine/enginetest"
	"github.com/credup/credup/internal/reportout"
	"github.com/credup/credup/internal/sheet"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: perf-rss gen|check [flags]")
	}
	switch os.Args[1] {
	case "gen":
		gen(os.Args[2:])
	case "check":
		check(os.Args[2:])
	default:
		log.Fatalf("unknown command %q: want gen or check", os.Args[1])
	}
}

func gen(args []string) {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "where to write the files")
	rows := fs.Int("rows", 100_000, "data rows of the sheet")
	creds := fs.Int("creds", 100_000, "credentials of the group")
	xlsx := fs.Bool("xlsx", false, "write an XLSX sheet instead of a CSV one")
	fs.Parse(args)
	if *dir == "" {
		log.Fatal("gen: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		log.Fatal(err)
	}
	g, err := json.Marshal(enginetest.Group())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*dir, "group.json"), g, 0o644); err != nil {
		log.Fatal(err)
	}
	if err := writeCredentials(filepath.Join(*dir, "credentials.jsonl"), enginetest.Credentials(*creds)); err != nil {
		log.Fatal(err)
	}
	name := fmt.Sprintf("sheet-%d.csv", *rows)
	write := enginetest.WriteCSV
	if *xlsx {
		name = fmt.Sprintf("sheet-%d.xlsx", *rows)
		write = enginetest.WriteXLSX
	}
	if err := write(filepath.Join(*dir, name), *rows, *creds); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s, group.json and credentials.jsonl (%d credentials) in %s", name, *creds, *dir)
}

func writeCredentials(path string, cs []bulk.Credential) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, c := range cs {
		if err := enc.Encode(c); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func check(args []string) {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	dir := fs.String("dir", "", "the directory gen wrote")
	sheetName := fs.String("sheet", "", "the sheet in -dir to validate")
	out := fs.String("out", "", "where to write the report (default: discard it)")
	report := fs.String("report", "stream", "stream, check or none")
	heap := fs.Bool("heap", false, "print the live heap once the credentials are loaded")
	fs.Parse(args)
	if *dir == "" || *sheetName == "" {
		log.Fatal("check: -dir and -sheet are required")
	}
	start := time.Now()
	var g bulk.Group
	b, err := os.ReadFile(filepath.Join(*dir, "group.json"))
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(b, &g); err != nil {
		log.Fatal(err)
	}
	creds, err := readCredentials(filepath.Join(*dir, "credentials.jsonl"))
	if err != nil {
		log.Fatal(err)
	}
	loaded := time.Since(start)
	in := engine.Input{Group: g, Credentials: creds, Now: enginetest.Now}
	if *heap {
		// Collecting here changes when the collector runs: not for RSS runs.
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		log.Printf("live heap with the credentials loaded: %d MiB", ms.HeapAlloc>>20)
	}

	var w io.Writer = io.Discard
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		w = f
	}
	src, err := sheet.OpenFile(filepath.Join(*dir, *sheetName), sheet.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()

	ctx := context.Background()
	began := time.Now()
	var rep *bulk.Report
	switch *report {
	case "stream":
		rep, err = reportout.Writer{KeepHTML: true, Newline: true}.WriteJSON(ctx, w, src, in)
	case "check":
		rep, err = engine.Check(ctx, src, in)
		if err == nil {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			if err = enc.Encode(rep); err == nil {
				_, err = w.Write(buf.Bytes())
			}
		}
	case "none":
		rep, err = engine.Run(ctx, src, in, func(engine.Outcome) error { return nil })
	default:
		log.Fatalf("check: -report %q: want stream, check or none", *report)
	}
	if err != nil {
		log.Fatal(err)
	}
	took := time.Since(began)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	log.Printf("report=%s sheet=%s credentials=%d rows=%d load=%s validate+write=%s rows/s=%.0f summary=%+v heap-sys=%dMiB gc=%d",
		*report, *sheetName, len(creds), rep.DataRows, loaded.Round(time.Millisecond), took.Round(time.Millisecond),
		float64(rep.DataRows)/took.Seconds(), rep.Summary, ms.HeapSys>>20, ms.NumGC)
}

// readCredentials reads one JSON credential per line, as credup check does.
func readCredentials(path string) ([]bulk.Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []bulk.Credential
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var c bulk.Credential
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, sc.Err()
}
