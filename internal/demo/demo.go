// Package demo is the data of `credup demo`: a tenant, a group with design
// attributes, a few hundred credentials (some expired, some sharing an
// email, one whose recipient corrected their name) and the rows of the
// sample spreadsheet that updates them. Everything is deterministic, so the
// committed sample sheet (testdata/demo) always fits the seeded data.
package demo

import (
	"fmt"

	"github.com/credup/credup/internal/bulk"
)

// The demo tenant, its credits and its groups.
const (
	Tenant       = "demo-academy"
	Credits      = 500
	GroupID      = "g-ux-foundations"
	OtherGroupID = "g-research-methods"
	SheetPath    = "testdata/demo/ux-foundations-renewals.xlsx"
	// Credentials is how many credentials the group holds.
	Credentials = 300
)

var firstNames = []string{"Ana", "Bo", "Chen", "Dara", "Emeka", "Farah", "Goran", "Hana", "Ines", "Jonas",
	"Kiri", "Leila", "Mateo", "Nadia", "Oren", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Viktor", "Wen", "Ximena", "Yusuf", "Zoë"}
var lastNames = []string{"Souza", "Lindqvist", "Wei", "Okafor", "Nwosu", "Haddad", "Petrović", "Sato", "García", "Müller",
	"Tane", "Rahimi", "Fernández", "Kowalski", "Levi", "Iyer", "Byrne", "Almeida", "Berg", "Aziz", "Rao", "Novak", "Liu", "Ortiz", "Demir", "Dubois"}

// Group is the group the demo updates.
func Group() bulk.Group {
	return bulk.Group{
		ID: GroupID, Name: "UX Foundations",
		Attributes: []bulk.Attribute{
			{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
			{Key: "cohort", Label: "Cohort", Kind: bulk.KindText},
		},
		DropPolicy: bulk.DropReview,
	}
}

// OtherGroup is a second group of the tenant, whose credentials the sample
// sheet must not touch.
func OtherGroup() bulk.Group {
	return bulk.Group{ID: OtherGroupID, Name: "Research Methods", DropPolicy: bulk.DropReview}
}

// Tenant's credentials: Credentials in the demo group, then a few in the
// other group.
func Seed() []bulk.Credential {
	out := make([]bulk.Credential, 0, Credentials+5)
	for i := 1; i <= Credentials; i++ {
		first, last := firstNames[i%len(firstNames)], lastNames[(i*7)%len(lastNames)]
		c := bulk.Credential{
			ID: fmt.Sprintf("c-%04d", i), GroupID: GroupID, Version: 1,
			Recipient: bulk.Recipient{
				ID:    fmt.Sprintf("S-%05d", 1000+i),
				Name:  first + " " + last,
				Email: fmt.Sprintf("learner%03d@example.org", i),
			},
			IssuedOn: fmt.Sprintf("2024-%02d-%02d", 1+i%12, 1+i%28),
			Grade:    []string{"A", "B", "C", "Pass"}[i%4],
			Custom:   map[string]string{"course_hours": "40", "cohort": fmt.Sprintf("2024-%c", 'A'+i%3)},
		}
		switch {
		case i%3 == 0:
			// Expired in 2025: renewing it costs a credit.
			c.ExpiresOn = fmt.Sprintf("2025-%02d-%02d", 1+i%12, 1+i%28)
		case i%3 == 1:
			c.ExpiresOn = fmt.Sprintf("2027-%02d-%02d", 1+i%12, 1+i%28)
		}
		out = append(out, c)
	}
	// Two credentials of one recipient address: rows by email are ambiguous.
	out[41].Recipient.Email = "family.shared@example.org"
	out[42].Recipient.Email = "Family.Shared@example.org"
	// A recipient who corrected the spelling of their name.
	out[9].Recipient.Name = "Jonas Müller-Lüdenscheidt"
	out[9].Recipient.NameCorrectedByRecipient = true
	for i := 1; i <= 5; i++ {
		out = append(out, bulk.Credential{
			ID: fmt.Sprintf("r-%04d", i), GroupID: OtherGroupID, Version: 1,
			Recipient: bulk.Recipient{ID: fmt.Sprintf("S-%05d", 9000+i), Name: "Research Learner " + fmt.Sprint(i),
				Email: fmt.Sprintf("researcher%02d@example.org", i)},
			IssuedOn: "2024-06-01",
		})
	}
	return out
}

// Header is the sample sheet's header: column names an LMS export would
// use, one of them ("Notes") no attribute fits.
var Header = []string{"Student Email", "Full Name", "Expiration Date", "Course Hours", "Grade", "Notes"}

// Rows are the sample sheet's data rows, dates as ISO text (the spreadsheet
// program that writes the sample turns them into date cells).
func Rows() [][]string {
	seed := Seed()
	var rows [][]string
	for i := 1; i <= 200; i++ {
		c := seed[i-1]
		exp := c.ExpiresOn
		hours := c.Custom["course_hours"]
		note := ""
		switch {
		case i%3 == 0:
			// Renew every expired credential for two years.
			exp = fmt.Sprintf("2028-%02d-%02d", 1+i%12, 1+i%28)
			note = "renewed after refresher"
		case i%10 == 1:
			hours = "45"
		}
		rows = append(rows, []string{c.Recipient.Email, c.Recipient.Name, exp, hours, c.Grade, note})
	}
	// Overwrites the name the recipient corrected: a warning.
	rows[9][1] = "Jonas Muller"
	// The shared address cannot pick one credential.
	rows[41][0] = "family.shared@example.org"
	// Nobody in the group has this address.
	rows = append(rows, []string{"new.person@example.org", "New Person", "2028-01-01", "40", "A", "not enrolled"})
	// A credential of the other group.
	rows = append(rows, []string{"researcher02@example.org", "Research Learner 2", "2028-01-01", "40", "A", ""})
	// An expiry before the issue date.
	rows = append(rows, []string{seed[201].Recipient.Email, seed[201].Recipient.Name, "2020-01-01", "40", seed[201].Grade, ""})
	// The same credential twice.
	rows = append(rows, []string{seed[202].Recipient.Email, seed[202].Recipient.Name, "2029-03-03", "40", seed[202].Grade, ""})
	rows = append(rows, []string{seed[202].Recipient.Email, seed[202].Recipient.Name, "2029-04-04", "40", seed[202].Grade, ""})
	return rows
}

// Mapping is what the demo's user chooses for the column credup could not
// place.
func Mapping() bulk.Mapping {
	return bulk.Mapping{Columns: map[string]string{"Notes": bulk.Skip}}
}
