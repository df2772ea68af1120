package config

import (
	"strings"
	"testing"
)

func TestBFDInstance(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		warns []string // substrings expected in warnings, in order of appearance
		errs  []string
	}{
		{
			name: "full block: one warning, nothing unknown",
			src: `bfd_instance bfd_peer1 {
    neighbor_ip 198.18.0.2
    source_ip 198.18.0.1
    min_rx 10
    min_tx 10.5
    idle_tx 1000
    multiplier 5
    passive
    ttl 255
    hoplimit 64
    max_hops 0
    multihop
    weight -20 reverse
    vrrp
    checker
}
`,
			warns: []string{"bfd_instance is not implemented yet and has no effect: BFD (RFC 5880) is not implemented"},
		},
		{
			name:  "neighbour spelling, several instances",
			src:   "bfd_instance a {\n neighbour_ip 198.18.0.2\n}\nbfd_instance b {\n neighbor_ip 2001:db8::2\n}\n",
			warns: []string{"bfd_instance is not implemented", "bfd_instance is not implemented"},
		},
		{
			name:  "empty block and no block",
			src:   "bfd_instance a {\n}\nbfd_instance b\n",
			warns: []string{"bfd_instance is not implemented", "bfd_instance is not implemented"},
		},
		{
			name:  "bfd keyword outside its block",
			src:   "neighbor_ip 198.18.0.2\n",
			warns: []string{`unknown keyword "neighbor_ip" in the top level`},
		},
		{
			name:  "bfd process settings live in global_defs",
			src:   "global_defs {\n bfd_priority -5\n bfd_no_swap\n bfd_rt_priority 50\n bfd_cpu_affinity 0 1\n bfd_rlimit_rttime 10000\n bfd_process_name kbfd\n}\n",
			warns: []string{"bfd_priority", "bfd_no_swap", "bfd_rt_priority", "bfd_cpu_affinity", "bfd_rlimit_rttime", "bfd_process_name"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, diags := Parse("test.conf", []byte(tc.src), Options{})
			for _, e := range tc.errs {
				if !globalFind(diags, Error, e) {
					t.Errorf("missing error %q in:\n%v", e, diags.Error())
				}
			}
			if len(tc.errs) == 0 && diags.HasErrors() {
				t.Errorf("unexpected errors:\n%v", diags.Errors().Error())
			}
			ws := diags.Warnings()
			if len(ws) != len(tc.warns) {
				t.Fatalf("got %d warnings, want %d:\n%v", len(ws), len(tc.warns), ws.Error())
			}
			for i, w := range tc.warns {
				if !strings.Contains(ws[i].Msg, w) {
					t.Errorf("warning %d = %q, want it to contain %q", i, ws[i].Msg, w)
				}
				if !ws[i].Pos.IsValid() {
					t.Errorf("warning %d has no position", i)
				}
			}
		})
	}
}

// TestBFDKeywordsInTable checks that every keyword of keepalived's bfd area
// is in the bfd_instance block (bfd_instance itself at the top level).
func TestBFDKeywordsInTable(t *testing.T) {
	root := keywords().root
	bi := root.Lookup("bfd_instance")
	if bi == nil || bi.Block == nil || bi.Status != Accepted {
		t.Fatalf("bfd_instance should be an accepted block keyword: %+v", bi)
	}
	names := globalAreaKeywords(t, "bfd")
	if len(names) != 16 {
		t.Errorf("read %d bfd keywords, want 16", len(names))
	}
	for _, name := range names {
		if name == "bfd_instance" {
			continue
		}
		k := bi.Block.Lookup(name)
		if k == nil {
			t.Errorf("bfd keyword %s missing from bfd_instance", name)
			continue
		}
		if k.Status != Accepted || k.Doc == "" {
			t.Errorf("bfd_instance %s: want an accepted entry with a reason, got %v %q", name, k.Status, k.Doc)
		}
	}
}
