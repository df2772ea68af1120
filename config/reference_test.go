package config

import (
	"bufio"
	"bytes"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/config-reference.md from the keyword table")

const referencePath = "../docs/config-reference.md"

// TestReferenceUpToDate fails when docs/config-reference.md no longer
// matches the keyword table. Run `make docs` to regenerate it.
func TestReferenceUpToDate(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteReference(&buf); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(referencePath, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(referencePath)
	if err != nil {
		t.Fatalf("read %s: %v (run `make docs`)", referencePath, err)
	}
	if !bytes.Equal(got, buf.Bytes()) {
		t.Fatalf("%s is stale: run `make docs` and commit the result", referencePath)
	}
}

// TestEveryKeepalivedKeywordKnown checks that every keyword keepalived's
// parser installs is in Vigil's table, so none is met as "unknown".
func TestEveryKeepalivedKeywordKnown(t *testing.T) {
	f, err := os.Open("testdata/keepalived-keywords.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var missing []string
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 2 {
			t.Fatalf("bad line %q", line)
		}
		n++
		if !KnownKeyword(fields[1]) {
			missing = append(missing, fields[0]+" "+fields[1])
		}
	}
	if n < 368 {
		t.Fatalf("read %d keywords, want at least 368", n)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d keepalived keywords are not in the table:\n%s", len(missing), n, strings.Join(missing, "\n"))
	}
}

// TestTableConsistency checks invariants every table entry must hold.
func TestTableConsistency(t *testing.T) {
	for _, b := range Blocks() {
		for _, k := range b.Keywords() {
			where := blockLabel(b) + " " + k.Name
			if k.Doc == "" {
				t.Errorf("%s: no Doc", where)
			}
			if k.Status == Supported && k.apply == nil {
				t.Errorf("%s: supported but reads nothing", where)
			}
			if k.Status != Supported && k.apply != nil && k.Block == nil {
				t.Errorf("%s: %v but has a reader", where, k.Status)
			}
		}
	}
}
