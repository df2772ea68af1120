package config

// GlobalDefs is the global_defs block.
type GlobalDefs struct{}

func defaultGlobalDefs() GlobalDefs { return GlobalDefs{} }

func globalKeywords() []*Keyword { return nil }

func validateGlobal(c *ctx) {}
