package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/credup/credup/internal/bulk"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const root = "../.."

func td(parts ...string) string {
	return filepath.Join(append([]string{root, "testdata"}, parts...)...)
}

func credup(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func TestCheckGolden(t *testing.T) {
	demoArgs := []string{"--group", td("demo", "group.json"), "--credentials", td("demo", "credentials.jsonl"), "--now", "2026-11-25"}
	fixArgs := []string{"--group", td("check", "group.json"), "--credentials", td("check", "credentials.jsonl"), "--now", "2025-12-01"}
	tests := []struct {
		name   string
		args   []string
		golden string
	}{
		{"demo sheet as JSON", append([]string{"check", td("demo", "ux-foundations-renewals.xlsx")}, demoArgs...), "demo.json"},
		{"demo sheet as text", append([]string{"check", td("demo", "ux-foundations-renewals.xlsx"), "--format", "text"}, demoArgs...), "demo.txt"},
		{"demo sheet with a mapping", append([]string{"check", "--mapping", td("check", "skip-notes.json"), td("demo", "ux-foundations-renewals.xlsx")}, demoArgs...), "demo-mapped.json"},
		{"LibreOffice XLS", append([]string{"check", td("sheets", "credentials-libreoffice.xls")}, fixArgs...), "credentials-libreoffice-xls.json"},
		{"European CSV, semicolons and DD/MM/YYYY", append([]string{"check", td("sheets", "semicolon.csv"), "--format", "text"}, fixArgs...), "semicolon.txt"},
		{"Windows-1252 CSV matched by email", append([]string{"check", td("sheets", "windows-1252.csv"), "--match-by", "recipient.email"}, fixArgs...), "windows-1252-by-email.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := credup(t, tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			path := td("golden", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/credup -update to write it)", err)
			}
			if out != string(want) {
				t.Errorf("report differs from %s:\n%s", path, firstDiff(out, string(want)))
			}
		})
	}
}

func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}

// TestEveryWriterGivesTheSameRows reads the same credentials sheet as
// LibreOffice and Gnumeric wrote it, in every format, and expects one report.
func TestEveryWriterGivesTheSameRows(t *testing.T) {
	files := []string{
		"credentials-libreoffice.xls", "credentials-gnumeric.xls",
		"credentials-libreoffice.xlsx", "credentials-gnumeric.xlsx",
		"dates-1904.xls", "dates-1904.xlsx", "unicode-text.txt", "utf8-bom.csv",
	}
	var first []bulk.Row
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			out, errOut, code := credup(t, "check", td("sheets", f), "--group", td("check", "group.json"),
				"--credentials", td("check", "credentials.jsonl"), "--now", "2025-12-01")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rep bulk.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Summary != (bulk.Summary{Update: 2, Unchanged: 2, Error: 1, Renewals: 1, CreditsRequired: 1}) {
				t.Errorf("summary = %+v", rep.Summary)
			}
			if first == nil {
				first = rep.Rows
				return
			}
			if !reflect.DeepEqual(rep.Rows, first) {
				t.Errorf("rows differ from %s:\n got %+v\nwant %+v", files[0], rep.Rows, first)
			}
		})
	}
}

func TestCheckExitCodes(t *testing.T) {
	group, creds := td("check", "group.json"), td("check", "credentials.jsonl")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"a report with errors is still a report", []string{"check", td("sheets", "credentials-gnumeric.xls"), "--group", group, "--credentials", creds}, 0, ""},
		{"no sheet", []string{"check", "--group", group, "--credentials", creds}, 2, "want exactly one SHEET"},
		{"missing sheet file", []string{"check", td("nope.csv"), "--group", group, "--credentials", creds}, 2, "nope.csv"},
		{"password-protected workbook", []string{"check", td("sheets", "protected.xlsx"), "--group", group, "--credentials", creds}, 2, "password"},
		{"missing group", []string{"check", td("sheets", "semicolon.csv"), "--credentials", creds}, 2, "--group"},
		{"credentials that are not JSON lines", []string{"check", td("sheets", "semicolon.csv"), "--group", group, "--credentials", td("check", "group.json") + "x"}, 2, "credentials"},
		{"bad format", []string{"check", td("sheets", "semicolon.csv"), "--group", group, "--credentials", creds, "--format", "yaml"}, 2, "json or text"},
		{"unknown date format", []string{"check", td("sheets", "semicolon.csv"), "--group", group, "--credentials", creds, "--date-format", "YYYYMMDD"}, 2, "date format"},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := credup(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			if !strings.Contains(strings.ToLower(errOut), strings.ToLower(tt.stderr)) {
				t.Errorf("stderr %q should mention %q", errOut, tt.stderr)
			}
			if tt.code == 2 && strings.Count(strings.TrimSpace(errOut), "\n") > 0 && tt.name != "unknown command" {
				t.Errorf("bad usage should be one line on stderr, got %q", errOut)
			}
		})
	}
}

// TestPrefilledTemplateComesBackUnchanged downloads a pre-filled template
// and checks it as if the user uploaded it untouched.
func TestPrefilledTemplateComesBackUnchanged(t *testing.T) {
	for _, format := range []string{"csv", "xlsx"} {
		t.Run(format, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template."+format)
			_, errOut, code := credup(t, "template", "--group", td("demo", "group.json"), "--credentials", td("demo", "credentials.jsonl"),
				"--prefill", "--format", format, "--output", path)
			if code != 0 {
				t.Fatalf("template: exit %d: %s", code, errOut)
			}
			out, errOut, code := credup(t, "check", path, "--group", td("demo", "group.json"), "--credentials", td("demo", "credentials.jsonl"))
			if code != 0 {
				t.Fatalf("check: exit %d: %s", code, errOut)
			}
			var rep bulk.Report
			if err := json.Unmarshal([]byte(out), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.DataRows != 300 || rep.Summary.Unchanged != 300 || rep.NeedsMapping() {
				t.Errorf("summary %+v of %d rows (needs mapping %v), want all 300 unchanged", rep.Summary, rep.DataRows, rep.NeedsMapping())
				for _, r := range rep.Rows {
					if r.Outcome != bulk.OutcomeUnchanged {
						t.Logf("row %d: %+v", r.Row, r)
						break
					}
				}
			}
			if rep.MatchBy != bulk.AttrCredentialID {
				t.Errorf("matched by %q, want credential.id", rep.MatchBy)
			}
		})
	}
}
