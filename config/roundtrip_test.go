package config

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"testing"
)

// The supervisor hands each child the configuration as JSON: the model
// must survive the round trip exactly, for every real file.
func TestModelJSONRoundTrip(t *testing.T) {
	var files []string
	for _, dir := range []string{"keepalived-conf", "keepalived-samples"} {
		m, _ := filepath.Glob(filepath.Join(sharedTestdata, dir, "*"))
		files = append(files, m...)
	}
	if len(files) == 0 {
		t.Skip("../shared/testdata not present (it sits beside the repository in the development workplace)")
	}
	for _, f := range files {
		if filepath.Ext(f) == ".md" {
			continue
		}
		cfg, _ := Load(f, Options{ConfigID: "high"})
		a, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var back Config
		if err := json.Unmarshal(a, &back); err != nil {
			t.Fatalf("%s: unmarshal: %v", f, err)
		}
		b, err := json.Marshal(&back)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s: model changes across a JSON round trip\n first: %.400s\nsecond: %.400s", filepath.Base(f), a, b)
		}
	}
}
