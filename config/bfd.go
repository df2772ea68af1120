package config

func bfdKeywords() []*Keyword { return nil }
