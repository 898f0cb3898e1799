package mapping

import "github.com/credup/credup/internal/bulk"

// synonyms are the headers other tools and people use for the standard
// attributes: credential platforms' exports (Accredible, Credly, Badgr),
// CRM and LMS exports, and hand-made sheets. Each is compared in its
// Normalize form with spaces removed, so "E-mail", "Email" and "EMAIL" are
// one entry. Words that often head other data are left out on purpose:
// "Notes" and "Comments" (not the credential's description), "Date" and "ID"
// (which one?), "Completed" or "Awarded" (often yes/no), a bare "Student" or
// "Recipient" (a name or an email?). A wrong guess silently writes data into
// the wrong field; a missing one only asks the user.
var synonyms = map[string][]string{
	bulk.AttrCredentialID: {
		"Credential ID", "Credential Number", "Credential No", "Credential Code",
		"Certificate ID", "Certificate Number", "Certificate No", "Certificate Code",
		"Cert ID", "Cert Number", "Cert No",
		"Badge ID", "Badge Number", "Badge Assertion ID", "Assertion ID",
		"Award ID", "Award Number", "Licence Number", "License Number",
		"Credential UID", "Certificate Serial Number",
	},
	bulk.AttrRecipientID: {
		"Recipient ID", "Recipient Number", "Learner ID", "Learner Number",
		"Student ID", "Student Number", "Student No", "Employee ID", "Employee Number",
		"Employee No", "Staff ID", "Staff Number", "External ID", "User ID",
		"Member ID", "Member Number", "Participant ID", "Candidate ID",
		"Candidate Number", "Person ID", "Contact ID", "Customer ID", "SIS ID",
		"SIS User ID", "Earner ID", "Matriculation Number", "Badge Holder ID",
	},
	bulk.AttrRecipientName: {
		"Recipient Name", "Recipient Full Name", "Full Name", "Name",
		"Learner Name", "Student Name", "Participant Name", "Attendee Name",
		"Candidate Name", "Member Name", "Employee Name", "Earner Name",
		"Awardee Name", "Holder Name", "Credential Holder", "Display Name",
		"Name on Certificate", "Issued To", "Awarded To", "Contact Name",
	},
	bulk.AttrEmail: {
		"Email", "Email Address", "Recipient Email", "Recipient Email Address",
		"Student Email", "Student Email Address", "Learner Email", "Participant Email",
		"Attendee Email", "Candidate Email", "Employee Email", "Member Email",
		"Earner Email", "Awardee Email", "User Email", "Contact Email", "Work Email",
		"Primary Email", "Email ID", "E-mail ID",
	},
	bulk.AttrIssuedOn: {
		"Issue Date", "Issued", "Issued Date", "Date Issued", "Issued On", "Issued At",
		"Date of Issue", "Issuance Date", "Date of Issuance", "Award Date",
		"Awarded On", "Awarded Date", "Date Awarded", "Completion Date",
		"Completed On", "Date Completed", "Date of Completion", "Certification Date",
		"Date Certified", "Certified On", "Certificate Date", "Earned On",
		"Earned Date", "Date Earned", "Grant Date", "Granted On", "Date Granted",
	},
	bulk.AttrExpiresOn: {
		"Expiry Date", "Expiry", "Expires", "Expires On", "Expires At", "Expiration",
		"Expiration Date", "Expire Date", "Expiry On", "Date of Expiry", "Date of Expiration",
		"Valid Until", "Valid Through", "Valid Thru", "Valid Till", "Valid To",
	},
	bulk.AttrGrade: {
		"Grade", "Score", "Result", "Mark", "Final Grade", "Final Score", "Final Mark",
		"Final Result", "Overall Grade", "Overall Score", "Exam Score", "Exam Result",
		"Exam Grade", "Test Score", "Assessment Score", "Assessment Result",
		"Grade Achieved", "Grade Awarded", "Score Achieved",
	},
	bulk.AttrDescription: {
		"Description", "Credential Description", "Certificate Description",
		"Badge Description", "Award Description", "Achievement Description",
		"Description of Achievement",
	},
}

// unrelated are headers a few typos away from an attribute's name that
// mean something else; they are never fuzzy-matched ("Issuer" is not
// "Issued", "Expired" is usually yes/no).
var unrelated = []string{
	"Issuer", "Issuers", "Issued By", "Issuing Organization", "Issuing Organisation",
	"Issues", "Expired", "Graded", "Notes", "Note", "Comments", "Comment",
	"Remarks", "Phone", "Phone Number", "Mobile", "Status",
}
