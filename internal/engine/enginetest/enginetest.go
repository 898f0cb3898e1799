// Package enginetest generates the synthetic workload credup's validation
// benchmarks and memory measurements run on: a group, its credentials, and
// sheets (CSV and XLSX) of rows that update them the way a real re-issue
// list does. Everything is derived from the row or credential number, so the
// same sizes always give the same files.
//
// Row i of a sheet targets credential i (by email) while i is below the
// number of credentials; rows beyond that are about people not in the group,
// with every tenth a second row for an existing credential. Among the rows
// that target a credential: a third renew an expired credential, one in six
// changes a custom number, one in nine a name; about 5% are errors (unknown
// email, invalid date, a grade over its limit, another group's credential,
// two rows for one credential).
package enginetest

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/credup/credup/internal/bulk"
)

// Now is the day the workload's renewals are judged at: a credential that
// expired before it and gets an expiry after it is renewed.
var Now = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

// GroupID is the group the sheets update; OtherGroupID holds the credentials
// some rows name by mistake.
const (
	GroupID      = "g-bench"
	OtherGroupID = "g-other"
)

// Header is the sheets' header row; every column maps by synonym or label.
var Header = []string{"Email", "Recipient Name", "Issued On", "Expires On", "Grade", "Course Hours"}

// Group is the group being updated: one custom number attribute.
func Group() bulk.Group {
	return bulk.Group{ID: GroupID, Name: "Data Protection Foundations", Attributes: []bulk.Attribute{
		{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
	}}
}

var (
	firstNames = []string{"Ana", "João", "Zoë", "Chloé", "Łukasz", "Mei", "Oluwaseun", "Søren", "Priya", "Hiroshi", "Fatima", "Liam", "Noor"}
	lastNames  = []string{"Souza", "Müller", "García", "Nguyen", "O'Connor", "Kowalski", "Tanaka", "Haddad", "Smith", "Dubois", "Rossi"}
	grades     = []string{"A", "B+", "B", "Pass", "Merit", "Distinction"}
)

func personName(i int) string {
	return firstNames[i%len(firstNames)] + " " + lastNames[(i/13)%len(lastNames)]
}

// email is credential i's address: ASCII, lower case, unique.
func email(i int) string {
	return "learner." + strconv.Itoa(i) + "@example.com"
}

func issued(i int) time.Time {
	return time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i%1000)
}

func iso(t time.Time) string { return t.Format("2006-01-02") }

// Credentials returns n credentials of the group, then n/100 of another
// group. A third have expired (i%3 == 0), a third expire after Now, a third
// never expire.
func Credentials(n int) []bulk.Credential {
	out := make([]bulk.Credential, 0, n+n/100)
	for i := range n {
		c := bulk.Credential{
			ID:      fmt.Sprintf("c-%07d", i),
			GroupID: GroupID,
			Version: int64(1 + i%4),
			Recipient: bulk.Recipient{
				ID:                       fmt.Sprintf("S-%07d", i),
				Name:                     personName(i),
				Email:                    email(i),
				NameCorrectedByRecipient: i%27 == 4,
			},
			IssuedOn: iso(issued(i)),
			Grade:    grades[i%len(grades)],
			Custom:   map[string]string{"course_hours": strconv.Itoa(8 + i%40)},
		}
		switch i % 3 {
		case 0:
			c.ExpiresOn = iso(issued(i).AddDate(2, 0, 0))
		case 1:
			c.ExpiresOn = iso(issued(i).AddDate(6, 0, 0))
		}
		out = append(out, c)
	}
	for i := range n / 100 {
		out = append(out, bulk.Credential{
			ID:        fmt.Sprintf("o-%07d", i),
			GroupID:   OtherGroupID,
			Version:   1,
			Recipient: bulk.Recipient{ID: fmt.Sprintf("T-%07d", i), Name: personName(i), Email: otherEmail(i)},
			IssuedOn:  iso(issued(i)),
			Grade:     "A",
		})
	}
	return out
}

func otherEmail(i int) string {
	return "other." + strconv.Itoa(i) + "@example.com"
}

// Record is data row i (0-based) of a sheet updating a group of creds
// credentials, as typed values: strings, time.Time for dates, int for
// numbers, "" for a blank cell.
type Record struct {
	Email, Name     string
	Issued, Expires time.Time
	BadDate         string // set instead of Expires for an invalid date
	Grade           string
	Hours           int
}

// Row returns data row i of a sheet for a group of creds credentials.
func Row(i, creds int) Record {
	target := i
	if i >= creds {
		target = i % creds
	}
	r := Record{
		Email:  email(target),
		Name:   personName(target),
		Issued: issued(target),
		Grade:  grades[target%len(grades)],
		Hours:  8 + target%40,
	}
	switch target % 3 {
	case 0: // renewal
		r.Expires = issued(target).AddDate(6, 0, 0)
	case 1:
		r.Expires = issued(target).AddDate(6, 0, 0)
		if target%9 == 4 {
			r.Name += "-Lima"
		}
	case 2:
		if target%6 == 2 {
			r.Hours += 4
		}
	}
	if i%5 == 0 {
		// Spreadsheets carry emails as people typed them.
		r.Email = "Learner." + strconv.Itoa(target) + "@Example.com"
	}
	if i >= creds {
		if i%10 != 0 {
			r.Email = "newcomer." + strconv.Itoa(i) + "@example.com"
		}
		return r
	}
	switch {
	case i%100 == 7:
		r.Email = "unknown." + strconv.Itoa(i) + "@example.com"
	case i%100 == 19:
		r.Expires, r.BadDate = time.Time{}, "31/02/2027"
	case i%100 == 31:
		r.Email = email(i - 1)
	case i%200 == 43:
		r.Grade = strings.Repeat("Distinction ", 6)
	case i%200 == 77:
		r.Email = otherEmail(i % max(creds/100, 1))
	}
	return r
}

// CSV returns the record as CSV fields, dates as DD/MM/YYYY.
func (r Record) CSV() []string {
	expires := r.BadDate
	if !r.Expires.IsZero() {
		expires = r.Expires.Format("02/01/2006")
	}
	return []string{r.Email, r.Name, r.Issued.Format("02/01/2006"), expires, r.Grade, strconv.Itoa(r.Hours)}
}

// WriteCSV writes a UTF-8 CSV sheet of rows data rows for a group of creds
// credentials.
func WriteCSV(path string, rows, creds int) error {
	return writeCSV(path, rows, creds, nil)
}

// WriteShuffledCSV writes the rows of WriteCSV in another order, the same
// for the same number of rows.
func WriteShuffledCSV(path string, rows, creds int) error {
	return writeCSV(path, rows, creds, rand.New(rand.NewPCG(uint64(rows), 1)).Perm(rows))
}

func writeCSV(path string, rows, creds int, order []int) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<16)
	w := csv.NewWriter(bw)
	if err := w.Write(Header); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	for i := range rows {
		if order != nil {
			i = order[i]
		}
		if err := w.Write(Row(i, creds).CSV()); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// WriteXLSX writes an XLSX sheet of rows data rows for a group of creds
// credentials with excelize's StreamWriter: dates as date cells, hours as
// numbers, text as inline strings.
func WriteXLSX(path string, rows, creds int) error {
	f := excelize.NewFile()
	defer f.Close()
	dateStyle, err := f.NewStyle(&excelize.Style{NumFmt: 14})
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	header := make([]any, len(Header))
	for i, h := range Header {
		header[i] = h
	}
	if err := sw.SetRow("A1", header); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	row := make([]any, len(Header))
	for i := range rows {
		r := Row(i, creds)
		var expires any
		switch {
		case !r.Expires.IsZero():
			expires = excelize.Cell{StyleID: dateStyle, Value: r.Expires}
		case r.BadDate != "":
			expires = r.BadDate
		}
		row[0], row[1], row[2], row[3], row[4], row[5] = r.Email, r.Name,
			excelize.Cell{StyleID: dateStyle, Value: r.Issued}, expires, r.Grade, r.Hours
		cell, err := excelize.CoordinatesToCellName(1, i+2)
		if err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		if err := sw.SetRow(cell, row); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := sw.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.SaveAs(path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
