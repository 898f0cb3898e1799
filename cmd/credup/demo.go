package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/credup/credup/internal/apiclient"
	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/demo"
	"github.com/credup/credup/internal/devstack"
)

// stepError names the demo step that did not do what it should.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return fmt.Sprintf("step %q failed: %v", e.step, e.err) }

// runDemo is the main job: the whole pipeline on the embedded stack, from
// an empty account to committed credentials, printing what it did.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	inProcess := fs.Bool("in-process", false, "run the functions in this process instead of one process each")
	verbose := fs.Bool("verbose", false, "show the functions' logs")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	d := &demoRun{out: stdout, started: time.Now()}
	var logs io.Writer
	if *verbose {
		logs = stderr
	}
	return d.run(ctx, !*inProcess, logs)
}

type demoRun struct {
	out     io.Writer
	started time.Time
	stack   *devstack.Stack
	api     *apiclient.Client
}

func (d *demoRun) say(format string, args ...any) {
	fmt.Fprintf(d.out, "[%5.1fs] %s\n", time.Since(d.started).Seconds(), fmt.Sprintf(format, args...))
}

func (d *demoRun) detail(format string, args ...any) {
	fmt.Fprintf(d.out, "          %s\n", fmt.Sprintf(format, args...))
}

func (d *demoRun) step(name string, fn func() error) error {
	if err := fn(); err != nil {
		return &stepError{step: name, err: err}
	}
	return nil
}

func (d *demoRun) run(ctx context.Context, processes bool, logs io.Writer) error {
	how := "in this process"
	if processes {
		how = "each as its own process, built from functions/"
	}
	var err error
	if err := d.step("start the local stack", func() error {
		d.say("Starting the embedded AWS stack from template.yaml (functions %s)...", how)
		d.stack, err = devstack.Start(ctx, devstack.Options{Processes: processes, Logs: logs, StackName: "credup-demo"})
		if err != nil {
			return err
		}
		d.detail("AWS endpoint %s, HTTP API %s", d.stack.Endpoint, d.stack.APIURL)
		d.detail("table %s, bucket %s", d.stack.TableName, d.stack.BucketName)
		return nil
	}); err != nil {
		return err
	}
	defer d.stack.Close()

	seed := demo.Seed()
	if err := d.step("seed the demo tenant", func() error {
		groups := []bulk.Group{demo.Group(), demo.OtherGroup()}
		if err := d.stack.Seed(ctx, bulk.Tenant{ID: demo.Tenant, Name: "Demo Academy", Credits: demo.Credits}, groups, seed); err != nil {
			return err
		}
		d.say("Seeded tenant %s: %d credits, group %q with %d credentials (a third expired), and a second group.",
			demo.Tenant, demo.Credits, demo.Group().Name, demo.Credentials)
		tok, err := d.stack.Token(demo.Tenant)
		if err != nil {
			return err
		}
		d.api = &apiclient.Client{BaseURL: d.stack.APIURL, Token: tok}
		return nil
	}); err != nil {
		return err
	}

	var id string
	var u apiclient.Upload
	if err := d.step("upload the sample sheet", func() error {
		file, err := os.ReadFile(samplePath())
		if err != nil {
			return err
		}
		created, err := d.api.CreateUpload(ctx, demo.GroupID, filepath.Base(demo.SheetPath))
		if err != nil {
			return err
		}
		id = created.ID
		if err := d.api.SendFile(ctx, created, file); err != nil {
			return err
		}
		d.say("Uploaded %s (%d bytes) through a presigned PUT as upload %s.", filepath.Base(demo.SheetPath), len(file), id)
		return nil
	}); err != nil {
		return err
	}

	if err := d.step("wait for the report", func() error {
		u, err = d.api.Wait(ctx, id, bulk.StatusNeedsMapping, bulk.StatusReadyForReview, bulk.StatusFailed)
		if err != nil {
			return err
		}
		if u.Status != bulk.StatusNeedsMapping {
			return fmt.Errorf("upload is %s (%s), want needs_mapping: the sample has a column no attribute fits", u.Status, u.Failure)
		}
		d.say("The validate function wrote report version %d: upload is %s.", u.ReportVersion, u.Status)
		d.printReport(u.Report)
		return nil
	}); err != nil {
		return err
	}

	if err := d.step("apply a mapping", func() error {
		m := demo.Mapping()
		var unplaced []string
		for _, c := range u.Report.Columns {
			if c.How == bulk.HowUnmapped {
				unplaced = append(unplaced, c.Name)
			}
		}
		d.say("Mapping the columns credup could not place (%s) to skip; credup re-validates.", strings.Join(unplaced, ", "))
		if _, err := d.api.SetMapping(ctx, id, m); err != nil {
			return err
		}
		u, err = d.api.Wait(ctx, id, bulk.StatusNeedsMapping, bulk.StatusReadyForReview, bulk.StatusFailed)
		if err != nil {
			return err
		}
		if u.Status != bulk.StatusReadyForReview || u.ReportVersion != 2 {
			return fmt.Errorf("upload is %s at report version %d (%s), want ready_for_review at version 2", u.Status, u.ReportVersion, u.Failure)
		}
		d.say("Report version %d: upload is %s.", u.ReportVersion, u.Status)
		return nil
	}); err != nil {
		return err
	}

	var errorRows []bulk.Row
	if err := d.step("review errors and warnings", func() error {
		var err error
		errorRows, err = d.allRows(ctx, id, "error")
		if err != nil {
			return err
		}
		warned, err := d.allRows(ctx, id, "warning")
		if err != nil {
			return err
		}
		if len(errorRows) != u.Report.Summary.Error || len(warned) != u.Report.Summary.Warning {
			return fmt.Errorf("paged %d error and %d warning rows, the summary says %d and %d",
				len(errorRows), len(warned), u.Report.Summary.Error, u.Report.Summary.Warning)
		}
		d.say("Rows that will not be updated (errors):")
		for _, r := range errorRows {
			for _, e := range r.Errors {
				d.detail("row %-3d %-20s %s", r.Row, e.Code, e.Message)
			}
		}
		d.say("Warnings to confirm:")
		for _, r := range warned {
			for _, w := range r.Warnings {
				d.detail("row %-3d %-20s %s", r.Row, w.Code, w.Message)
			}
		}
		return nil
	}); err != nil {
		return err
	}

	before := map[string]bulk.Credential{}
	for _, c := range seed {
		before[c.ID] = c
	}
	if err := d.step("confirm and commit", func() error {
		if _, err := d.api.Commit(ctx, id); err == nil {
			return errors.New("the commit started before the warnings were confirmed")
		} else if p := (*apiclient.Problem)(nil); !errors.As(err, &p) || p.Status != 409 {
			return fmt.Errorf("an unconfirmed commit should be refused with 409, got %v", err)
		}
		d.say("An unconfirmed commit is refused (409), as it should be. Confirming the warnings of report version %d.", u.ReportVersion)
		if _, err := d.api.Confirm(ctx, id, u.ReportVersion); err != nil {
			return err
		}
		if _, err := d.api.Commit(ctx, id); err != nil {
			return err
		}
		d.say("Commit started: a Step Functions execution named after the upload (plan -> map over batches -> finish).")
		u, err = d.api.Wait(ctx, id, bulk.StatusCompleted, bulk.StatusCompletedWithErrors, bulk.StatusFailed)
		if err != nil {
			return err
		}
		if u.Status == bulk.StatusFailed {
			return fmt.Errorf("the commit failed: %s", u.Failure)
		}
		return nil
	}); err != nil {
		return err
	}

	return d.step("check the results", func() error {
		res := u.Results
		sum := u.Report.Summary
		if res == nil || res.Updated != sum.Update || res.CreditsCharged != sum.CreditsRequired || res.Conflicts != 0 {
			return fmt.Errorf("results %+v do not match the confirmed report %+v", res, sum)
		}
		results, err := d.allResults(ctx, id)
		if err != nil {
			return err
		}
		if len(results) != sum.Update {
			return fmt.Errorf("results list %d credentials, the report said %d updates", len(results), sum.Update)
		}
		st, err := d.stack.Store(ctx)
		if err != nil {
			return err
		}
		tenant, err := st.GetTenant(ctx, demo.Tenant)
		if err != nil {
			return err
		}
		if tenant.Credits != demo.Credits-sum.CreditsRequired {
			return fmt.Errorf("the balance is %d, want %d - %d", tenant.Credits, demo.Credits, sum.CreditsRequired)
		}
		for _, r := range results {
			now, err := st.GetCredential(ctx, demo.Tenant, r.CredentialID)
			if err != nil {
				return err
			}
			if now.Version != before[r.CredentialID].Version+1 || now.ExpiresOn != r.After.ExpiresOn {
				return fmt.Errorf("credential %s is at version %d expiring %q, want version %d expiring %q",
					r.CredentialID, now.Version, now.ExpiresOn, before[r.CredentialID].Version+1, r.After.ExpiresOn)
			}
		}
		d.say("Commit %s.", u.Status)
		d.detail("updated     %d credentials", res.Updated)
		d.detail("unchanged   %d rows", sum.Unchanged)
		d.detail("errors      %d rows, not applied: %s", sum.Error, errorCounts(errorRows))
		d.detail("renewals    %d, credits charged %d (balance %d -> %d)", sum.Renewals, res.CreditsCharged, demo.Credits, tenant.Credits)
		d.detail("batches     %d, conflicts %d", res.Batches, res.Conflicts)
		d.say("A few of the updated credentials, before -> after:")
		shown := 0
		for _, r := range results {
			if shown == 4 || (shown > 0 && !r.Renewal && shown < 2) {
				continue
			}
			var parts []string
			for _, c := range r.Changes {
				parts = append(parts, fmt.Sprintf("%s %s -> %s", c.Field, quoteBlank(c.From), quoteBlank(c.To)))
			}
			tag := ""
			if r.Renewal {
				tag = "  [renewal]"
			}
			d.detail("%s (row %d): %s%s", r.CredentialID, r.Row, strings.Join(parts, "; "), tag)
			shown++
		}
		d.say("Done: every step did what it should.")
		return nil
	})
}

func (d *demoRun) printReport(r *apiclient.Report) {
	if r == nil {
		return
	}
	d.detail("read %s sheet %q: header on row %d, %d data rows; rows matched by %s", r.Format, r.Sheet, r.HeaderRow, r.DataRows, r.MatchBy)
	for _, c := range r.Columns {
		if c.How == bulk.HowUnmapped {
			d.detail("column %-16q -> unmapped: assign it or skip it", c.Header)
			continue
		}
		d.detail("column %-16q -> %-20s (%s, %.0f%%)", c.Header, c.Attribute, c.How, c.Confidence*100)
	}
	s := r.Summary
	d.detail("summary: %d to update, %d unchanged, %d errors, %d with warnings, %d renewals costing %d credits",
		s.Update, s.Unchanged, s.Error, s.Warning, s.Renewals, s.CreditsRequired)
}

func (d *demoRun) allRows(ctx context.Context, id, outcome string) ([]bulk.Row, error) {
	return allPages(func(cursor string) ([]bulk.Row, string, error) {
		page, err := d.api.Rows(ctx, id, outcome, cursor)
		return page.Rows, page.NextCursor, err
	})
}

func (d *demoRun) allResults(ctx context.Context, id string) ([]apiclient.Result, error) {
	return allPages(func(cursor string) ([]apiclient.Result, string, error) {
		page, err := d.api.Results(ctx, id, cursor)
		return page.Results, page.NextCursor, err
	})
}

// allPages follows an API listing's cursors to its end.
func allPages[T any](page func(cursor string) ([]T, string, error)) ([]T, error) {
	var out []T
	cursor := ""
	for {
		items, next, err := page(cursor)
		if err != nil {
			return nil, err
		}
		out = append(out, items...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

func errorCounts(rows []bulk.Row) string {
	counts := map[string]int{}
	for _, r := range rows {
		for _, e := range r.Errors {
			counts[e.Code]++
		}
	}
	codes := make([]string, 0, len(counts))
	for c := range counts {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	parts := make([]string, len(codes))
	for i, c := range codes {
		parts[i] = fmt.Sprintf("%s %d", c, counts[c])
	}
	return strings.Join(parts, ", ")
}

// samplePath finds the demo's sample sheet from the working directory or
// one of its parents (make demo runs from the repository root).
func samplePath() string {
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, demo.SheetPath)
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return demo.SheetPath
		}
		dir = parent
	}
}
