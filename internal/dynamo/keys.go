package dynamo

import (
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/credup/credup/internal/bulk"
	"github.com/credup/credup/internal/store"
)

// Attribute names of the table's keys and of the attributes the store's
// expressions read.
const (
	attrPK     = "PK"
	attrSK     = "SK"
	attrGSI1PK = "GSI1PK"
	attrGSI1SK = "GSI1SK"
	attrGSI2PK = "GSI2PK"
	attrGSI2SK = "GSI2SK"
	attrGSI3PK = "GSI3PK"
	attrGSI3SK = "GSI3SK"

	attrCredits     = "credits"
	attrVersion     = "version"
	attrRev         = "rev"
	attrOutcome     = "outcome"
	attrHasWarnings = "hasWarnings"
	attrHeader      = "header"
	attrAttribute   = "attribute"
	attrAppliedAt   = "appliedAt"

	// TTLAttribute is the table's time-to-live attribute (epoch seconds).
	TTLAttribute = "expiresAt"
)

// Index names.
const (
	indexGroup     = "GSI1"
	indexEmail     = "GSI2"
	indexRecipient = "GSI3"
)

// Sort keys of single-item partitions.
const (
	skTenant = "TENANT"
	skGroup  = "GROUP"
	skCred   = "CRED"
	skUpload = "UPLOAD"
	skMarker = "MARKER"
)

// groupShards spreads a group's credentials over this many GSI1 partitions so
// no group has one hot key.
const groupShards = 16

// Limits of the zero-padded numbers in sort and partition keys.
const (
	maxRow   = 9_999_999_999
	maxBatch = 99_999
)

// keyPart checks one ID that goes into a key: the delimiter # may not appear
// in it, or one tenant's key could be spelled to reach another's items.
func keyPart(kind, v string) error { return store.KeyPart(kind, v) }

// tenantPrefix is the start of every partition key of a tenant.
func tenantPrefix(tenant string) (string, error) {
	if err := keyPart("tenant", tenant); err != nil {
		return "", err
	}
	return "TENANT#" + tenant, nil
}

// scoped builds TENANT#<tenant>#<kind>#<id> after checking both IDs.
func scoped(tenant, kind, id string) (string, error) {
	p, err := tenantPrefix(tenant)
	if err != nil {
		return "", err
	}
	if err := keyPart(strings.ToLower(kind)+" id", id); err != nil {
		return "", err
	}
	return p + "#" + kind + "#" + id, nil
}

func tenantPK(tenant string) (string, error) { return tenantPrefix(tenant) }

func groupPK(tenant, group string) (string, error) { return scoped(tenant, "GROUP", group) }

func credentialPK(tenant, id string) (string, error) { return scoped(tenant, "CRED", id) }

func uploadPK(tenant, upload string) (string, error) { return scoped(tenant, "UPLOAD", upload) }

func mappingsPK(tenant string) (string, error) {
	p, err := tenantPrefix(tenant)
	if err != nil {
		return "", err
	}
	return p + "#MAPPINGS", nil
}

func reportPK(tenant, upload string, version int) (string, error) {
	p, err := uploadPK(tenant, upload)
	if err != nil {
		return "", err
	}
	if version < 0 {
		return "", bulk.Errorf(bulk.EInvalid, "report version %d is negative", version)
	}
	return fmt.Sprintf("%s#REPORT#%d", p, version), nil
}

func rowSK(row int) (string, error) {
	if row < 1 || row > maxRow {
		return "", bulk.Errorf(bulk.EInvalid, "row number %d out of range", row)
	}
	return fmt.Sprintf("ROW#%010d", row), nil
}

func batchPK(tenant, upload string, batch int) (string, error) {
	p, err := uploadPK(tenant, upload)
	if err != nil {
		return "", err
	}
	if batch < 0 || batch > maxBatch {
		return "", bulk.Errorf(bulk.EInvalid, "batch number %d out of range", batch)
	}
	return fmt.Sprintf("%s#BATCH#%05d", p, batch), nil
}

func batchSK(batch int) string { return fmt.Sprintf("BATCH#%05d", batch) }

// batchesGSI1PK is the GSI1 partition of an upload's batch markers, so an
// upload's results can be walked batch by batch without a scan.
func batchesGSI1PK(tenant, upload string) (string, error) {
	p, err := uploadPK(tenant, upload)
	if err != nil {
		return "", err
	}
	return p + "#BATCHES", nil
}

func resultSK(credential string) string { return "RESULT#" + credential }

// shard is the GSI1 shard of a credential: FNV-1a of its ID mod 16.
func shard(credential string) int {
	h := fnv.New32a()
	h.Write([]byte(credential))
	return int(h.Sum32() % groupShards)
}

func groupShardPK(tenant, group string, shard int) (string, error) {
	p, err := groupPK(tenant, group)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s#S#%02d", p, shard), nil
}

func credSK(id string) string { return "CRED#" + id }

// emailPK is the GSI2 partition of a normalized email; the email is the last
// part of the key, so a # in it cannot reach another tenant.
func emailPK(tenant, email string) (string, error) {
	p, err := tenantPrefix(tenant)
	if err != nil {
		return "", err
	}
	return p + "#EMAIL#" + bulk.NormalizeEmail(email), nil
}

func recipientPK(tenant, recipient string) (string, error) {
	p, err := tenantPrefix(tenant)
	if err != nil {
		return "", err
	}
	return p + "#RID#" + recipient, nil
}
