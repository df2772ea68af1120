package config

// SSLConfig is the top-level SSL block used by SSL_GET checkers.
type SSLConfig struct{}

// VirtualServerGroup is a virtual_server_group block.
type VirtualServerGroup struct{}

// VirtualServer is a virtual_server block.
type VirtualServer struct{}

func lvsKeywords() []*Keyword { return nil }

func validateLVS(c *ctx) {}
