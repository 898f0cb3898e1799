package mapping

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/credup/credup/internal/bulk"
)

var ux = bulk.Group{ID: "g-ux", Name: "UX Foundations", Attributes: []bulk.Attribute{
	{Key: "course_hours", Label: "Course Hours", Kind: bulk.KindNumber},
	{Key: "employee_code", Label: "Employee Code", Kind: bulk.KindText},
}}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"E-mail Address", "e mail address"},
		{"  Recipient   Name ", "recipient name"},
		{"recipient.email", "recipient email"},
		{"expires_on", "expires on"},
		{"Date Émise", "date emise"},
		{"Straße", "strasse"},
		{"Ørsted Ærø", "orsted aero"},
		{"recipientEmail", "recipient email"},
		{"CredentialID", "credential id"},
		{"Student's Email", "students email"},
		{"Score (%)", "score"},
		{"Course Hours #2", "course hours 2"},
		{"---", ""},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := Normalize(tt.in); got != tt.want {
				t.Errorf("Normalize(%q) = %q; want %q", tt.in, got, tt.want)
			}
		})
	}
}

// suggestOne maps a header alone.
func suggestOne(h string, learned map[string]string) bulk.Column {
	return Suggest([]string{h}, ux, learned)[0]
}

func TestSuggestExact(t *testing.T) {
	tests := []struct{ header, attr string }{
		{"recipient.email", bulk.AttrEmail},
		{"credential.id", bulk.AttrCredentialID},
		{"expires_on", bulk.AttrExpiresOn},
		{"ISSUED_ON", bulk.AttrIssuedOn},
		{"course_hours", "custom.course_hours"},
		{"custom.course_hours", "custom.course_hours"},
		{"Course Hours", "custom.course_hours"},
		{"coursehours", "custom.course_hours"},
		{"Credential ID", bulk.AttrCredentialID},
		{"Recipient Email", bulk.AttrEmail},
		{"recipientEmail", bulk.AttrEmail},
		{"Expires On", bulk.AttrExpiresOn},
		{"Grade", bulk.AttrGrade},
		{"Description", bulk.AttrDescription},
		{"Employee Code", "custom.employee_code"},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			c := suggestOne(tt.header, nil)
			if c.Attribute != tt.attr || c.How != bulk.HowExact || c.Confidence != 1 {
				t.Errorf("Suggest(%q) = %s %s %v; want %s exact 1", tt.header, c.Attribute, c.How, c.Confidence, tt.attr)
			}
		})
	}
}

func TestSuggestSynonym(t *testing.T) {
	tests := []struct{ header, attr string }{
		{"Full Name", bulk.AttrRecipientName},
		{"Name", bulk.AttrRecipientName},
		{"Learner Name", bulk.AttrRecipientName},
		{"Student Name", bulk.AttrRecipientName},
		{"Student Email", bulk.AttrEmail},
		{"Email", bulk.AttrEmail},
		{"E-mail", bulk.AttrEmail},
		{"E-mail Address", bulk.AttrEmail},
		{"Email Address", bulk.AttrEmail},
		{"EMAIL ADDRESS", bulk.AttrEmail},
		{"Issue Date", bulk.AttrIssuedOn},
		{"Date Issued", bulk.AttrIssuedOn},
		{"Issued", bulk.AttrIssuedOn},
		{"Issued Date", bulk.AttrIssuedOn},
		{"issueDate", bulk.AttrIssuedOn},
		{"Award Date", bulk.AttrIssuedOn},
		{"Date Awarded", bulk.AttrIssuedOn},
		{"Completion Date", bulk.AttrIssuedOn},
		{"Expiry Date", bulk.AttrExpiresOn},
		{"Expiration", bulk.AttrExpiresOn},
		{"Expiration Date", bulk.AttrExpiresOn},
		{"Expires", bulk.AttrExpiresOn},
		{"Valid Until", bulk.AttrExpiresOn},
		{"Valid Through", bulk.AttrExpiresOn},
		{"Certificate ID", bulk.AttrCredentialID},
		{"Certificate Number", bulk.AttrCredentialID},
		{"Badge ID", bulk.AttrCredentialID},
		{"Credential Number", bulk.AttrCredentialID},
		{"Learner ID", bulk.AttrRecipientID},
		{"Student ID", bulk.AttrRecipientID},
		{"Employee ID", bulk.AttrRecipientID},
		{"External ID", bulk.AttrRecipientID},
		{"Score", bulk.AttrGrade},
		{"Result", bulk.AttrGrade},
		{"Mark", bulk.AttrGrade},
		{"Score (%)", bulk.AttrGrade},
		{"Certificate Description", bulk.AttrDescription},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			c := suggestOne(tt.header, nil)
			if c.Attribute != tt.attr || c.How != bulk.HowSynonym || c.Confidence != 0.95 {
				t.Errorf("Suggest(%q) = %s %s %v; want %s synonym 0.95", tt.header, c.Attribute, c.How, c.Confidence, tt.attr)
			}
		})
	}
}

func TestSuggestFuzzy(t *testing.T) {
	tests := []struct{ header, attr string }{
		{"Emial", bulk.AttrEmail},
		{"Emails", bulk.AttrEmail},
		{"Email Adress", bulk.AttrEmail},
		{"Grades", bulk.AttrGrade},
		{"Marks", bulk.AttrGrade},
		{"Student IDs", bulk.AttrRecipientID},
		{"Expiry Dates", bulk.AttrExpiresOn},
		{"Exipry Date", bulk.AttrExpiresOn},
		{"Issue Dte", bulk.AttrIssuedOn},
		{"Recipiant Name", bulk.AttrRecipientName},
		{"Course Hour", "custom.course_hours"},
		{"Employe Code", "custom.employee_code"},
		{"Credential IDs", bulk.AttrCredentialID},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			c := suggestOne(tt.header, nil)
			if c.Attribute != tt.attr || c.How != bulk.HowFuzzy || c.Confidence < 0.6 || c.Confidence > 0.9 {
				t.Errorf("Suggest(%q) = %s %s %v; want %s fuzzy in [0.6, 0.9]", tt.header, c.Attribute, c.How, c.Confidence, tt.attr)
			}
		})
	}
	t.Run("confidence falls with distance", func(t *testing.T) {
		one := suggestOne("Email Adress", nil)
		two := suggestOne("Emial Adress", nil)
		if one.Attribute != bulk.AttrEmail || two.Attribute != bulk.AttrEmail || !(one.Confidence > two.Confidence) {
			t.Errorf("one typo %v, two typos %v; want both email, the first more confident", one, two)
		}
	})
}

func TestSuggestUnmapped(t *testing.T) {
	for _, h := range []string{
		"Notes", "Comments", "Phone", "Issuer", "Issued By", "Expires In", "Valid From",
		"First Name", "Last Name", "Course Name", "Certificate Name", "Credential URL",
		"Recipient Phone", "Date", "ID", "Status", "Expired", "Date of Birth", "Username",
		"", "   ", "---", strings.Repeat("a very long cell of data ", 10),
	} {
		t.Run(h, func(t *testing.T) {
			c := suggestOne(h, nil)
			if c.Attribute != "" || c.How != bulk.HowUnmapped || c.Confidence != 0 {
				t.Errorf("Suggest(%q) = %s %s %v; want unmapped", h, c.Attribute, c.How, c.Confidence)
			}
		})
	}
}

func TestSuggestLearned(t *testing.T) {
	learned := map[string]string{
		"mail pro":        bulk.AttrEmail,
		"notes":           bulk.Skip,
		"hours":           "custom.course_hours",
		"old field":       "custom.removed", // the design no longer has it
		"recipient email": bulk.AttrRecipientName,
		"matricule":       bulk.AttrRecipientID,
	}
	tests := []struct {
		header, attr, how string
		conf              float64
	}{
		{"Mail pro", bulk.AttrEmail, bulk.HowLearned, 0.99},
		{"MAIL-PRO", bulk.AttrEmail, bulk.HowLearned, 0.99},
		{"Notes", bulk.Skip, bulk.HowSkip, 0.99},
		{"Hours", "custom.course_hours", bulk.HowLearned, 0.99},
		{"Old Field", "", bulk.HowUnmapped, 0},
		{"Recipient Email", bulk.AttrRecipientName, bulk.HowLearned, 0.99},
	}
	for _, tt := range tests {
		t.Run(tt.header, func(t *testing.T) {
			c := suggestOne(tt.header, learned)
			if c.Attribute != tt.attr || c.How != tt.how || c.Confidence != tt.conf {
				t.Errorf("Suggest(%q) = %s %s %v; want %s %s %v", tt.header, c.Attribute, c.How, c.Confidence, tt.attr, tt.how, tt.conf)
			}
		})
	}
}

func TestSuggestOneColumnPerAttribute(t *testing.T) {
	tests := []struct {
		name    string
		headers []string
		learned map[string]string
		want    []string // attribute per column, "" for unmapped
	}{
		{"leftmost wins a tie", []string{"Email", "E-mail"}, nil, []string{bulk.AttrEmail, ""}},
		{"higher confidence wins", []string{"Emial", "Email"}, nil, []string{"", bulk.AttrEmail}},
		{"exact beats synonym", []string{"Email", "Recipient Email"}, nil, []string{"", bulk.AttrEmail}},
		{"exact beats learned", []string{"Mail Pro", "recipient.email"}, map[string]string{"mail pro": bulk.AttrEmail}, []string{"", bulk.AttrEmail}},
		{"skips do not compete", []string{"Notes", "Comments"}, map[string]string{"notes": bulk.Skip, "comments": bulk.Skip}, []string{bulk.Skip, bulk.Skip}},
		{"a typical export", []string{"Certificate ID", "Student Name", "Student Email", "Date Issued", "Valid Until", "Score", "Notes", "Course Hours"}, nil,
			[]string{bulk.AttrCredentialID, bulk.AttrRecipientName, bulk.AttrEmail, bulk.AttrIssuedOn, bulk.AttrExpiresOn, bulk.AttrGrade, "", "custom.course_hours"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols := Suggest(tt.headers, ux, tt.learned)
			var got []string
			for i, c := range cols {
				got = append(got, c.Attribute)
				if c.Index != i || c.Header != strings.TrimSpace(tt.headers[i]) {
					t.Errorf("column %d is %+v", i, c)
				}
				if c.Attribute == "" && (c.How != bulk.HowUnmapped || c.Confidence != 0) {
					t.Errorf("column %d unmapped as %s %v", i, c.How, c.Confidence)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Suggest(%q) = %q; want %q", tt.headers, got, tt.want)
			}
		})
	}
}

// The synonym table must not send one name to two attributes, nor list a
// name it also calls unrelated.
func TestSynonymTable(t *testing.T) {
	seen := map[string]string{}
	for attr, names := range synonyms {
		if _, ok := bulk.Labels[attr]; !ok {
			t.Errorf("synonyms of unknown attribute %q", attr)
		}
		for _, s := range names {
			c := compact(Normalize(s))
			if prev, ok := seen[c]; ok && prev != attr {
				t.Errorf("%q is a synonym of %s and %s", s, prev, attr)
			}
			seen[c] = attr
			if unrelatedHeaders[c] {
				t.Errorf("%q is both a synonym and unrelated", s)
			}
		}
	}
}

func TestFindHeader(t *testing.T) {
	tests := []struct {
		name    string
		rows    [][]string
		learned map[string]string
		want    int
	}{
		{"header first", [][]string{
			{"Email", "Name", "Expiry Date"},
			{"ana@example.com", "Ana Souza", "2025-01-15"},
		}, nil, 0},
		{"title, blank, header", [][]string{
			{"UX Foundations — cohort 2024"},
			{},
			{"Credential ID", "Recipient Email", "Grade"},
			{"c-1", "ana@example.com", "A"},
		}, nil, 2},
		{"title and a subtitle with one known word", [][]string{
			{"Grades"},
			{"exported 2024-03-01", ""},
			{"Student Email", "Final Grade", "Completion Date"},
			{"ana@example.com", "A", "2024-01-15"},
		}, nil, 2},
		{"learned headers", [][]string{
			{"Cohort 7"},
			{"Matricule", "Courriel"},
			{"S-1", "ana@example.com"},
		}, map[string]string{"matricule": bulk.AttrRecipientID, "courriel": bulk.AttrEmail}, 1},
		{"unknown headers under a title", [][]string{
			{"Cohort 7"},
			{""},
			{"Matricule", "Courriel"},
			{"S-1", "ana@example.com"},
		}, nil, 2},
		{"unknown headers, no title", [][]string{
			{"Matricule", "Courriel"},
			{"S-1", "ana@example.com"},
		}, nil, 0},
		{"nothing like a header", [][]string{
			{"S-1", "ana@example.com"},
			{"S-2", "bo@example.com"},
		}, nil, 0},
		{"no rows", nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FindHeader(tt.rows, ux, tt.learned); got != tt.want {
				t.Errorf("FindHeader = %d; want %d", got, tt.want)
			}
		})
	}
}

func TestColumnName(t *testing.T) {
	cols := Suggest([]string{"Email", "", "Name", "Name", "#9", "Grade"}, ux, nil)
	want := []string{"Email", "#2", "#3", "#4", "#5", "Grade"}
	for i, w := range want {
		if got := ColumnName(cols, i); got != w {
			t.Errorf("ColumnName(%d) = %q; want %q", i, got, w)
		}
	}
}

func TestApply(t *testing.T) {
	headers := []string{"Student Email", "Contact Email", "Notes", "Hours", "Name", "Name", ""}
	tests := []struct {
		name    string
		columns map[string]string
		want    map[int][3]string // column → attribute, how, and "1" when confidence is 1
		wantErr string
	}{
		{"nothing to apply", nil, map[int][3]string{
			0: {bulk.AttrEmail, bulk.HowSynonym, ""}, 1: {"", bulk.HowUnmapped, ""}, 2: {"", bulk.HowUnmapped, ""},
		}, ""},
		{"assign by header, skip by normalized header", map[string]string{"Hours": "custom.course_hours", "notes": "skip"}, map[int][3]string{
			3: {"custom.course_hours", bulk.HowAssigned, "1"}, 2: {bulk.Skip, bulk.HowSkip, "1"}, 0: {bulk.AttrEmail, bulk.HowSynonym, ""},
		}, ""},
		{"assigning takes the attribute from its suggested column", map[string]string{"Contact Email": bulk.AttrEmail}, map[int][3]string{
			0: {"", bulk.HowUnmapped, ""}, 1: {bulk.AttrEmail, bulk.HowAssigned, "1"},
		}, ""},
		{"positions name repeated and blank headers", map[string]string{"#5": bulk.AttrRecipientName, "#6": "SKIP", "#7": bulk.AttrGrade}, map[int][3]string{
			4: {bulk.AttrRecipientName, bulk.HowAssigned, "1"}, 5: {bulk.Skip, bulk.HowSkip, "1"}, 6: {bulk.AttrGrade, bulk.HowAssigned, "1"},
		}, ""},
		{"reassigning a suggested attribute to the same column", map[string]string{"Student Email": bulk.AttrEmail}, map[int][3]string{
			0: {bulk.AttrEmail, bulk.HowAssigned, "1"},
		}, ""},
		{"unknown column lists the columns", map[string]string{"Phone": bulk.Skip}, nil,
			`unknown column "Phone"; the columns are "Student Email", "Contact Email", "Notes", "Hours", "#5", "#6", "#7"`},
		{"position out of range", map[string]string{"#8": bulk.Skip}, nil, `unknown column "#8"`},
		{"unknown attribute lists the attributes", map[string]string{"Hours": "custom.hours"}, nil,
			`unknown attribute "custom.hours"; valid attributes are credential.id, recipient.id, recipient.name, recipient.email, issued_on, expires_on, grade, description, custom.course_hours, custom.employee_code, or skip`},
		{"an attribute to two columns", map[string]string{"Student Email": bulk.AttrEmail, "Contact Email": bulk.AttrEmail}, nil,
			"attribute recipient.email is assigned to two columns"},
		{"a repeated header must be named by position", map[string]string{"Name": bulk.AttrRecipientName}, nil,
			`column "Name" is repeated in the header; name the one you mean by position: #5 or #6`},
		{"one column named twice two ways", map[string]string{"Notes": bulk.Skip, "#3": bulk.AttrDescription}, nil,
			"column Notes is named twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cols := Suggest(headers, ux, nil)
			before := slices.Clone(cols)
			got, err := Apply(cols, ux, bulk.Mapping{Columns: tt.columns})
			if !slices.Equal(cols, before) {
				t.Errorf("Apply changed its input")
			}
			if tt.wantErr != "" {
				var e *bulk.Error
				if !errors.As(err, &e) || e.Code != bulk.EInvalid || !strings.Contains(e.Message, tt.wantErr) {
					t.Fatalf("Apply error = %v; want invalid containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(cols) {
				t.Fatalf("Apply returned %d columns; want %d", len(got), len(cols))
			}
			for i, w := range tt.want {
				c := got[i]
				if c.Attribute != w[0] || c.How != w[1] || (w[2] == "1") != (c.Confidence == 1) {
					t.Errorf("column %d = %s %s %v; want %v", i, c.Attribute, c.How, c.Confidence, w)
				}
			}
		})
	}
}

func BenchmarkFindHeader(b *testing.B) {
	rows := [][]string{{"UX Foundations — cohort 2024"}, {}}
	header := []string{"Certificate ID", "Student Name", "Student Email", "Date Issued", "Valid Until", "Score", "Notes", "Course Hours"}
	for len(header) < 40 {
		header = append(header, "Extra column "+strings.Repeat("x", len(header)%7))
	}
	rows = append(rows, header)
	for len(rows) < 20 {
		row := make([]string, len(header))
		for i := range row {
			row[i] = "value " + strings.Repeat("v", i%9)
		}
		rows = append(rows, row)
	}
	b.ReportAllocs()
	for b.Loop() {
		if FindHeader(rows, ux, nil) != 2 {
			b.Fatal("wrong header")
		}
	}
}
