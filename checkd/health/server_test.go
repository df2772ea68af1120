package health

import (
	"fmt"
	"testing"
)

func TestServer(t *testing.T) {
	ip := func(n int) *int { return &n }
	i64 := func(n int64) *int64 { return &n }
	s := NewServer(10, map[string]bool{"http": true, "misc": true, "file": true})
	if !s.Alive() || s.Weight() != 10 {
		t.Fatalf("start: alive %v weight %d", s.Alive(), s.Weight())
	}
	steps := []struct {
		id    string
		d     Decision
		delta *int64
		want  string
	}{
		{"http", Decision{Up: false, Changed: true}, nil, "alive=false! w=10 failed=[http]"},
		{"http", Decision{Up: true, Changed: true}, nil, "alive=true! w=10 failed=[]"},
		// misc_dynamic: "the effect is to set the RS weight to two less
		// than the exit status"
		{"misc", Decision{Up: true, WeightChanged: true, Weight: ip(8)}, nil, "alive=true w=8! failed=[]"},
		// FILE_CHECK: "The value, once multiplied by the weight, will be
		// added to the real server's IPVS weight."
		{"file", Decision{Up: true}, i64(5), "alive=true w=13! failed=[]"},
		{"file", Decision{Up: true}, i64(-20), "alive=true w=0! failed=[]"},
		{"file", Decision{Up: false, Changed: true}, i64(-2147483648), "alive=false! w=0 failed=[file]"},
		{"misc", Decision{Up: false, Changed: true}, nil, "alive=false w=0 failed=[file misc]"},
		{"nope", Decision{Up: false}, nil, "alive=false w=0 failed=[file misc]"},
	}
	for i, st := range steps {
		d := s.Update(st.id, st.d, st.delta)
		got := fmt.Sprintf("alive=%v", d.Alive)
		if d.AliveChanged {
			got += "!"
		}
		got += fmt.Sprintf(" w=%d", d.Weight)
		if d.WeightChanged {
			got += "!"
		}
		got += fmt.Sprintf(" failed=%v", d.Failed)
		if d.Failed == nil {
			got = got[:len(got)-len("[]")] + "[]"
		}
		if got != st.want {
			t.Errorf("step %d (%s): got %s, want %s", i, st.id, got, st.want)
		}
	}
	// alpha: a server whose checkers start DOWN is not alive until all
	// have passed.
	a := NewServer(1, map[string]bool{"x": false, "y": false})
	if a.Alive() {
		t.Fatal("alpha server alive at start")
	}
	if d := a.Update("x", Decision{Up: true}, nil); d.Alive {
		t.Error("alive with one of two checkers")
	}
	if d := a.Update("y", Decision{Up: true}, nil); !d.Alive || !d.AliveChanged {
		t.Error("not alive with both checkers up")
	}
}
