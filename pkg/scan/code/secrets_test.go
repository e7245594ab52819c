package code

import (
	"testing"

	"github.com/vigilsec/vigil/pkg/checks"
)

func TestSecretsSkipVendoredAndBinaryFiles(t *testing.T) {
	cat, err := checks.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	s := NewSecrets(cat, []byte("k"))
	for path, want := range map[string]bool{
		"config/app.env":                    true,
		"src/settings.py":                   true,
		"vendor/github.com/x/y/testdata.go": false,
		"web/node_modules/pkg/index.js":     false,
		"lib/python3.12/site-packages/a.py": false,
		"assets/logo.png":                   false,
		"go.sum":                            false,
		"static/app.min.js":                 false,
		"docs/vendor-notes.md":              true, // a name, not a vendored folder
	} {
		if got := s.Match(path); got != want {
			t.Errorf("Match(%s) = %v, want %v", path, got, want)
		}
	}
	fs, err := s.ScanFile(t.Context(), "blob.dat", []byte("\x00\x01\x02aws_access_key_id = AKIAQYLPMN5HHHFPZAM2"), "")
	if err != nil || len(fs) != 0 {
		t.Fatalf("binary content searched: %v %v", fs, err)
	}
	fs, err = s.ScanFile(t.Context(), "app.env", []byte("aws_access_key_id = AKIAQYLPMN5HHHFPZAM2\n"), "")
	if err != nil || len(fs) != 1 {
		t.Fatalf("text not searched: %v %v", fs, err)
	}
}
