package config

// rootBlock assembles the top level of the keyword tree from each area's
// keywords. Each area (global.go, vrrp.go, lvs.go, bfd.go, arbiter.go)
// owns its blocks, model types and validation.
func rootBlock() *Block {
	root := newBlock("", "The top level of keepalived.conf.")
	for _, group := range [][]*Keyword{
		globalKeywords(),
		vrrpKeywords(),
		lvsKeywords(),
		bfdKeywords(),
		arbiterKeywords(),
	} {
		for _, k := range group {
			root.add(k)
		}
	}
	return root
}

// validators run after the whole file is read, in this order, to check
// what no single statement can: references, duplicates, conflicts.
var validators = []func(c *ctx){
	validateGlobal,
	validateVRRP,
	validateLVS,
	validateArbiter,
}
