// Package bulk holds credup's domain: the credentials, groups and mappings a
// bulk update works on, and the report it produces. It imports no AWS SDK;
// adapters translate these types to and from storage and transport.
package bulk

import (
	"strings"
)

// Canonical attribute keys a column can be mapped to. Design attributes of a
// group are addressed as CustomPrefix + key.
const (
	AttrCredentialID  = "credential.id"
	AttrRecipientID   = "recipient.id"
	AttrRecipientName = "recipient.name"
	AttrEmail         = "recipient.email"
	AttrGrade         = "grade"
	AttrIssuedOn      = "issued_on"
	AttrExpiresOn     = "expires_on"
	AttrDescription   = "description"
	CustomPrefix      = "custom."

	// Skip is the mapping target that drops a column: its data is never stored.
	Skip = "skip"
)

// StandardAttributes lists the canonical attributes in template order.
var StandardAttributes = []string{
	AttrCredentialID, AttrRecipientID, AttrRecipientName, AttrEmail,
	AttrIssuedOn, AttrExpiresOn, AttrGrade, AttrDescription,
}

// Attribute kinds of a group's design attributes.
const (
	KindText   = "text"
	KindDate   = "date"
	KindEmail  = "email"
	KindNumber = "number"
)

// Drop policies: what a file dropped into a group's bucket prefix does.
const (
	DropReview        = "review"
	DropCommitIfClean = "commit_if_clean"
)

// Attribute is one custom field of a group's design.
type Attribute struct {
	Key   string `json:"key"`
	Label string `json:"label"`
	Kind  string `json:"kind"`
}

// Group is a set of credentials sharing one design.
type Group struct {
	ID         string      `json:"id"`
	Name       string      `json:"name"`
	Attributes []Attribute `json:"attributes"`
	DropPolicy string      `json:"dropPolicy,omitempty"`
}

// Attribute returns the design attribute with the given key.
func (g Group) Attribute(key string) (Attribute, bool) {
	for _, a := range g.Attributes {
		if a.Key == key {
			return a, true
		}
	}
	return Attribute{}, false
}

// Kind returns the value kind of a canonical attribute key in this group:
// date for issued_on and expires_on, email for recipient.email, the design
// kind for custom attributes, text otherwise. ok is false for an unknown key.
func (g Group) Kind(attr string) (kind string, ok bool) {
	switch attr {
	case AttrIssuedOn, AttrExpiresOn:
		return KindDate, true
	case AttrEmail:
		return KindEmail, true
	case AttrCredentialID, AttrRecipientID, AttrRecipientName, AttrGrade, AttrDescription:
		return KindText, true
	}
	if key, found := strings.CutPrefix(attr, CustomPrefix); found {
		if a, ok := g.Attribute(key); ok {
			if a.Kind == "" {
				return KindText, true
			}
			return a.Kind, true
		}
	}
	return "", false
}

// AttributeKeys returns every canonical attribute of the group: the standard
// ones, then custom.<key> for each design attribute.
func (g Group) AttributeKeys() []string {
	keys := append([]string(nil), StandardAttributes...)
	for _, a := range g.Attributes {
		keys = append(keys, CustomPrefix+a.Key)
	}
	return keys
}

// Recipient is the person a credential was issued to.
type Recipient struct {
	ID                       string `json:"id"`
	Name                     string `json:"name"`
	Email                    string `json:"email"`
	NameCorrectedByRecipient bool   `json:"nameCorrectedByRecipient"`
}

// Credential is one issued certificate or badge. Dates are ISO YYYY-MM-DD;
// an empty ExpiresOn means the credential never expires.
type Credential struct {
	ID          string            `json:"id"`
	GroupID     string            `json:"groupId"`
	Version     int64             `json:"version"`
	Recipient   Recipient         `json:"recipient"`
	IssuedOn    string            `json:"issuedOn"`
	ExpiresOn   string            `json:"expiresOn,omitempty"`
	Grade       string            `json:"grade"`
	Description string            `json:"description"`
	Custom      map[string]string `json:"custom,omitempty"`
}

// Get returns the value of a canonical attribute.
func (c *Credential) Get(attr string) string {
	switch attr {
	case AttrCredentialID:
		return c.ID
	case AttrRecipientID:
		return c.Recipient.ID
	case AttrRecipientName:
		return c.Recipient.Name
	case AttrEmail:
		return c.Recipient.Email
	case AttrGrade:
		return c.Grade
	case AttrIssuedOn:
		return c.IssuedOn
	case AttrExpiresOn:
		return c.ExpiresOn
	case AttrDescription:
		return c.Description
	}
	if key, ok := strings.CutPrefix(attr, CustomPrefix); ok {
		return c.Custom[key]
	}
	return ""
}

// Set stores the value of a canonical attribute. credential.id is the
// credential's identity and is never set.
func (c *Credential) Set(attr, value string) {
	switch attr {
	case AttrRecipientID:
		c.Recipient.ID = value
	case AttrRecipientName:
		c.Recipient.Name = value
	case AttrEmail:
		c.Recipient.Email = value
	case AttrGrade:
		c.Grade = value
	case AttrIssuedOn:
		c.IssuedOn = value
	case AttrExpiresOn:
		c.ExpiresOn = value
	case AttrDescription:
		c.Description = value
	default:
		if key, ok := strings.CutPrefix(attr, CustomPrefix); ok {
			if value == "" {
				delete(c.Custom, key)
				return
			}
			if c.Custom == nil {
				c.Custom = map[string]string{}
			}
			c.Custom[key] = value
		}
	}
}

// Mapping is what the user chose for an upload. Every field is optional:
// columns not mentioned keep their suggestion. A column is named by its
// header text or by "#N" (1-based) when headers repeat or are blank.
type Mapping struct {
	Columns    map[string]string `json:"columns,omitempty"`
	DateFormat string            `json:"dateFormat,omitempty"`
	MatchBy    string            `json:"matchBy,omitempty"`
}

// NormalizeEmail is how emails are compared: trimmed and case-folded.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}

// Labels are the header texts credup writes in templates for the standard
// attributes; design attributes use their own label.
var Labels = map[string]string{
	AttrCredentialID:  "Credential ID",
	AttrRecipientID:   "Recipient ID",
	AttrRecipientName: "Recipient Name",
	AttrEmail:         "Recipient Email",
	AttrIssuedOn:      "Issued On",
	AttrExpiresOn:     "Expires On",
	AttrGrade:         "Grade",
	AttrDescription:   "Description",
}

// Label returns the template header for a canonical attribute of the group.
func (g Group) Label(attr string) string {
	if l, ok := Labels[attr]; ok {
		return l
	}
	if key, ok := strings.CutPrefix(attr, CustomPrefix); ok {
		if a, ok := g.Attribute(key); ok && a.Label != "" {
			return a.Label
		}
		return key
	}
	return attr
}

// Tenant is an issuer running a credential programme, with its credit balance.
type Tenant struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Credits int    `json:"credits"`
}

// EscapeFormula makes a value safe to put in a spreadsheet cell: a value a
// spreadsheet program would read as a formula (starting with = + - @, tab or
// CR) is prefixed with an apostrophe.
func EscapeFormula(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// UnescapeFormula undoes EscapeFormula, so an exported sheet read back gives
// the values it was made from.
func UnescapeFormula(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

// MaxLen is the most characters a value of the attribute may hold.
func MaxLen(attr string) int {
	switch attr {
	case AttrCredentialID, AttrRecipientID:
		return 128
	case AttrRecipientName:
		return 256
	case AttrEmail:
		return 254
	case AttrGrade:
		return 64
	case AttrIssuedOn, AttrExpiresOn:
		return 32
	case AttrDescription:
		return 4000
	}
	return 1000
}

// ValidEmail reports whether s looks like a deliverable address: one @, a
// non-empty local part, a dotted domain of letters, digits and hyphens, no
// spaces.
func ValidEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at > 64 || at != strings.LastIndexByte(s, '@') {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if strings.HasPrefix(local, ".") || strings.HasSuffix(local, ".") || strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"(),:;<>[\]`, r) {
			return false
		}
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			ok := r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f
			if !ok {
				return false
			}
		}
		if i == len(labels)-1 && len(l) < 2 {
			return false
		}
	}
	return true
}
