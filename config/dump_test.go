package config

import (
	"encoding/json"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

const sharedTestdata = "../../shared/testdata"

// sharedFile returns a path in ../shared/testdata, skipping the test where
// that folder is absent (a user's clone has no shared/ beside it).
func sharedFile(t testing.TB, rel string) string {
	t.Helper()
	p := sharedTestdata + "/" + rel
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s not present (it sits beside the repository in the development workplace): %v", p, err)
	}
	return p
}

// jsonLeaves collects every key and every scalar value of a JSON document,
// with durations also in keepalived's unit (seconds) and addresses in the
// forms keepalived writes them.
func jsonLeaves(v any, keys, vals map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			keys[k] = true
			jsonLeaves(e, keys, vals)
		}
	case []any:
		for _, e := range x {
			jsonLeaves(e, keys, vals)
		}
	case string:
		vals[x] = true
		if d, err := time.ParseDuration(x); err == nil {
			vals[strconv.FormatFloat(d.Seconds(), 'f', -1, 64)] = true
		}
		if p, err := netip.ParsePrefix(x); err == nil && p.IsSingleIP() {
			vals[p.Addr().String()] = true
		}
		for _, w := range strings.Fields(x) {
			vals[w] = true
		}
	case float64:
		vals[strconv.FormatFloat(x, 'f', -1, 64)] = true
	case bool:
		vals[strconv.FormatBool(x)] = true
	}
}

// TestDumpShowsEveryValue checks that the JSON model of the fullest sample
// carries every supported keyword and every value written in the file.
func TestDumpShowsEveryValue(t *testing.T) {
	path := sharedFile(t, "keepalived-conf/seed000-full-vrrp.conf")
	cfg, diags := Load(path, Options{})
	if diags.HasErrors() {
		t.Fatalf("errors:\n%v", diags.Errors().Error())
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	keys, vals := map[string]bool{}, map[string]bool{}
	jsonLeaves(doc, keys, vals)

	// Re-read the statements to know what the file says.
	d := &diag{}
	src := newSource(Options{}, d)
	src.readPath(path, Pos{})
	var check func(b *Block, nodes []*node)
	check = func(b *Block, nodes []*node) {
		for _, n := range nodes {
			var kw *Keyword
			if b != nil && b.Item == nil {
				kw = b.Lookup(n.name())
				if kw == nil || kw.Status != Supported {
					continue
				}
				name := kw.Name
				if kw.Alias != "" {
					name = kw.Alias
				}
				if kw.Block == nil && !keys[name] {
					t.Errorf("%s: keyword %s is not in the dump", n.pos(), n.name())
				}
			}
			words := n.words
			if kw != nil {
				words = n.words[1:]
			}
			for _, w := range words {
				if !vals[w.text] && !keys[w.text] {
					t.Errorf("%s: value %q of %s is not in the dump", w.pos, w.text, n.name())
				}
			}
			if n.block {
				var sub *Block
				if kw != nil {
					sub = kw.Block
				}
				check(sub, n.children)
			}
		}
	}
	check(keywords().root, src.tree.finish())
}
