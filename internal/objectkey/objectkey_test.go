package objectkey

import "testing"

func TestParse(t *testing.T) {
	tests := []struct {
		key  string
		want Key
		ok   bool
	}{
		{"tenants/acme/uploads/u1/Cohort 2024+ résumé.xlsx", Key{"acme", Upload, "u1", "Cohort 2024+ résumé.xlsx"}, true},
		{"tenants/acme/dropbox/g-ux/weekly.csv", Key{"acme", Dropbox, "g-ux", "weekly.csv"}, true},
		{"tenants/acme/dropbox/g-ux/sub/dir/file.csv", Key{"acme", Dropbox, "g-ux", "sub/dir/file.csv"}, true},
		{"tenants/acme/manifests/u1/00003.json", Key{"acme", Manifest, "u1", "00003.json"}, true},
		{"tenants/acme/dropbox/g-ux/", Key{}, false},
		{"tenants//uploads/u1/f.csv", Key{}, false},
		{"tenants/acme/other/u1/f.csv", Key{}, false},
		{"tenants/ac#me/uploads/u1/f.csv", Key{}, false},
		{"elsewhere/acme/uploads/u1/f.csv", Key{}, false},
		{"tenants/acme/uploads/u1", Key{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := Parse(tt.key)
			if ok != tt.ok || got != tt.want {
				t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tt.key, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestKeysRoundTrip(t *testing.T) {
	k, ok := Parse(ForUpload("acme", "u1", "../../tenants/other/x.csv"))
	if !ok || k.Tenant != "acme" || k.ID != "u1" || k.File != "x.csv" {
		t.Errorf("a file name with a path must stay under its upload: %+v %v", k, ok)
	}
	k, ok = Parse(ForManifest("acme", "u1", 7))
	if !ok || k.Kind != Manifest || k.File != "00007.json" {
		t.Errorf("manifest key parsed as %+v %v", k, ok)
	}
	if got := DropboxPrefix("acme", "g-ux"); got != "tenants/acme/dropbox/g-ux/" {
		t.Errorf("DropboxPrefix = %q", got)
	}
}
