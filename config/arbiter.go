package config

// Arbiter is Vigil's own arbiter { } block: the second heartbeat path and
// quorum settings. keepalived does not know it; keep it in an included file
// (see docs) so the main file stays readable by keepalived during migration.
// The fields arrive with the arbiter subsystem.
type Arbiter struct {
	Pos Pos `json:"-"`
}

func arbiterKeywords() []*Keyword {
	return []*Keyword{{
		Name:   "arbiter",
		Args:   "{ ... }",
		Status: Accepted,
		Doc:    "Vigil's split-brain arbiter settings; reserved until the arbiter subsystem lands",
		Block:  newBlock("arbiter", "Vigil's split-brain arbiter settings (not a keepalived block)."),
	}}
}
