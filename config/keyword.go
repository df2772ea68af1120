package config

import (
	"fmt"
	"sort"
	"strings"
)

// Status says what Vigil does with a keyword keepalived knows, so that an
// operator migrating a file learns exactly which lines take effect.
type Status int

const (
	// Supported keywords are read into the typed model and acted on.
	Supported Status = iota
	// Accepted keywords are recognised and validated loosely, but not
	// implemented yet: each use draws a warning naming file:line.
	Accepted
	// Rejected keywords stop the configuration from loading, with a reason;
	// used only where silently ignoring the line would be unsafe.
	Rejected
)

func (s Status) String() string {
	switch s {
	case Supported:
		return "supported"
	case Accepted:
		return "accepted (not implemented, warns)"
	default:
		return "rejected"
	}
}

// Keyword is one entry of the keyword table: where it may appear, what it
// takes, what Vigil does with it. The table is the single source of truth
// for parsing, validation and docs/config-reference.md.
type Keyword struct {
	Name    string // as written in keepalived.conf
	Args    string // argument syntax for the reference, e.g. "<1-255>"
	Default string // keepalived's default when the keyword is absent
	Status  Status
	// Doc says in one line what the keyword does; for Accepted and
	// Rejected keywords it gives the reason instead.
	Doc string
	// Block is the sub-block the keyword opens, nil for a plain statement.
	Block *Block
	// BlockOptional lets a block keyword also appear without a block
	// (keepalived allows e.g. "notification_email" inline lists).
	BlockOptional bool
	// Multi allows the keyword more than once in one block; a repeated
	// single-valued keyword draws a warning that the later value wins.
	Multi bool
	// Alias names the keyword this one is an older spelling of.
	Alias string

	// apply reads the statement into target (the enclosing block's model
	// object) and returns the model object for the sub-block, if any.
	apply func(c *ctx, n *node, target any) any
}

// Block is one kind of { } block and the keywords allowed inside it.
type Block struct {
	Name string // e.g. "vrrp_instance"
	Doc  string
	// Item, when set, makes this a list block: each line is an item
	// (an address, a script name) rather than a keyword.
	Item       func(c *ctx, n *node, target any)
	ItemSyntax string

	keywords []*Keyword
	index    map[string]*Keyword
}

// newBlock builds a block and indexes its keywords; a duplicate name is a
// programming error in the table and panics at start-up (never on input).
func newBlock(name, doc string, kws ...*Keyword) *Block {
	b := &Block{Name: name, Doc: doc, index: make(map[string]*Keyword, len(kws))}
	for _, k := range kws {
		b.add(k)
	}
	return b
}

func (b *Block) add(k *Keyword) {
	if _, dup := b.index[k.Name]; dup {
		panic(fmt.Sprintf("config: keyword %q defined twice in block %q", k.Name, b.Name))
	}
	b.keywords = append(b.keywords, k)
	b.index[k.Name] = k
}

// Keywords lists the block's keywords in table order.
func (b *Block) Keywords() []*Keyword { return b.keywords }

// Lookup finds a keyword of this block by name.
func (b *Block) Lookup(name string) *Keyword { return b.index[name] }

// on adapts a typed apply function to the table's untyped slot, so each
// area writes func(c *ctx, n *node, inst *VRRPInstance) and the type
// assertion lives in one place.
func on[T any](f func(c *ctx, n *node, t T)) func(*ctx, *node, any) any {
	return func(c *ctx, n *node, target any) any {
		t, ok := target.(T)
		if !ok {
			return nil
		}
		f(c, n, t)
		return nil
	}
}

// opens adapts a typed constructor for a block keyword: it reads the
// statement's arguments and returns the model object its body fills.
func opens[T, C any](f func(c *ctx, n *node, t T) C) func(*ctx, *node, any) any {
	return func(c *ctx, n *node, target any) any {
		t, ok := target.(T)
		if !ok {
			return nil
		}
		child := f(c, n, t)
		if any(child) == nil {
			return nil
		}
		return child
	}
}

// accepted makes a table entry for a keyword Vigil recognises but does not
// implement yet.
func accepted(name, args, why string) *Keyword {
	return &Keyword{Name: name, Args: args, Status: Accepted, Doc: why, Multi: true}
}

// acceptedBlock is accepted() for a keyword that opens a block; the body is
// skipped as a whole with one warning.
func acceptedBlock(name, args, why string) *Keyword {
	k := accepted(name, args, why)
	k.Block = newBlock(name, why)
	k.BlockOptional = true
	return k
}

// alias makes an older spelling share a keyword's meaning.
func alias(name string, of *Keyword) *Keyword {
	k := *of
	k.Name = name
	k.Alias = of.Name
	return &k
}

// walk interprets a block's statements with the block's keyword table.
func (c *ctx) walk(b *Block, nodes []*node, target any) { c.walkIn(b, nil, nodes, target) }

func (c *ctx) walkIn(b *Block, parent *node, nodes []*node, target any) {
	// Statements of this block seen so far, for repeated-keyword warnings;
	// a slice, since blocks are small and a map per block is costly.
	var seen []*node
	for _, n := range nodes {
		if b.Item != nil {
			if n.block {
				c.d.errorf(n.open, "list entries take no block", "unexpected block in %s list", b.Name)
			}
			b.Item(c, n, target)
			continue
		}
		kw := b.index[n.name()]
		if kw == nil {
			c.unknown(b, n, parent)
			continue
		}
		if !kw.Multi {
			for _, prev := range seen {
				if prev.name() == n.name() {
					c.d.warnf(n.pos(), "delete one of them", "%s given twice in %s (first at line %d); the later value is used",
						kw.Name, blockLabel(b), prev.pos().Line)
					break
				}
			}
			seen = append(seen, n)
		}
		switch kw.Status {
		case Rejected:
			c.d.errorf(n.pos(), "remove this line", "%s is not supported by Vigil: %s", kw.Name, kw.Doc)
			continue
		case Accepted:
			c.d.warnf(n.pos(), "", "%s is not implemented yet and has no effect: %s", kw.Name, kw.Doc)
			continue
		}
		if kw.Block == nil && n.block {
			c.d.errorf(n.open, "remove the { } block", "%s takes no block", kw.Name)
			continue
		}
		if kw.Block != nil && !n.block && !kw.BlockOptional {
			c.d.errorf(n.pos(), fmt.Sprintf("write: %s ... { ... }", kw.Name), "%s needs a { } block", kw.Name)
			continue
		}
		if kw.apply == nil {
			continue
		}
		child := kw.apply(c, n, target)
		if kw.Block != nil && n.block && child != nil {
			c.walkIn(kw.Block, n, n.children, child)
		}
	}
}

func blockLabel(b *Block) string {
	if b.Name == "" {
		return "the top level"
	}
	return b.Name
}

// unknown reports a keyword the block does not know, with the most useful
// hint: where the keyword does belong, or the nearest spelling. A plain
// line is a warning (keepalived ignores it and runs); a whole block that
// would be dropped is an error, and a top-level block met inside another
// block is diagnosed as the missing '}' it almost always is (keepalived
// would merge it into the enclosing block).
func (c *ctx) unknown(b *Block, n *node, parent *node) {
	name := n.name()
	homes := c.tbl.homes[name]
	hint := ""
	if len(homes) > 0 {
		hint = fmt.Sprintf("%s belongs in: %s", name, strings.Join(homes, ", "))
	} else if near := nearest(name, b); near != "" {
		hint = fmt.Sprintf("did you mean %s?", near)
	}
	switch {
	case b.Name != "" && len(homes) == 1 && homes[0] == blockLabel(c.tbl.root) && n.block:
		at := ""
		if parent != nil && !parent.closed {
			at = fmt.Sprintf(" (opened at line %d)", parent.open.Line)
		}
		c.d.errorf(n.pos(), fmt.Sprintf("close the %s block%s before this line", b.Name, at),
			"%s inside %s: a '}' is missing before it", name, b.Name)
	case n.block:
		c.d.errorf(n.pos(), hint, "unknown block %q in %s; its whole contents would be ignored", name, blockLabel(b))
	default:
		c.d.warnf(n.pos(), hint, "unknown keyword %q in %s; line ignored", name, blockLabel(b))
	}
}

// nearest suggests a keyword of b within a small edit distance of name.
func nearest(name string, b *Block) string {
	best, bestD := "", 3
	for _, k := range b.keywords {
		if d := editDistance(name, k.Name); d < bestD {
			best, bestD = k.Name, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// table is the whole keyword tree plus an index of where each name lives,
// built once.
type table struct {
	root  *Block
	homes map[string][]string // keyword -> blocks that accept it
}

func newTable(root *Block) *table {
	t := &table{root: root, homes: map[string][]string{}}
	seen := map[*Block]bool{}
	var visit func(b *Block)
	visit = func(b *Block) {
		if seen[b] {
			return
		}
		seen[b] = true
		for _, k := range b.keywords {
			t.homes[k.Name] = append(t.homes[k.Name], blockLabel(b))
			if k.Block != nil {
				visit(k.Block)
			}
		}
	}
	visit(root)
	for k, v := range t.homes {
		sort.Strings(v)
		t.homes[k] = dedupe(v)
	}
	return t
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Blocks returns every block of the keyword tree reachable from the top
// level, depth first, each once: the order of the generated reference.
func Blocks() []*Block {
	var out []*Block
	seen := map[*Block]bool{}
	var visit func(b *Block)
	visit = func(b *Block) {
		if seen[b] {
			return
		}
		seen[b] = true
		out = append(out, b)
		for _, k := range b.keywords {
			if k.Block != nil {
				visit(k.Block)
			}
		}
	}
	visit(keywords().root)
	return out
}

// KnownKeyword reports whether name is in the keyword table anywhere.
func KnownKeyword(name string) bool { return len(keywords().homes[name]) > 0 }
