package config

import "strings"

// maxBlockDepth bounds nesting; keepalived's deepest real block is four
// levels (virtual_server > real_server > HTTP_GET > url).
const maxBlockDepth = 16

// node is one statement: a keyword, its arguments and, when it opened a
// block, the statements inside. The tree knows nothing of keywords; the
// keyword table gives it meaning afterwards.
type node struct {
	words    []token
	block    bool
	children []*node
	open     Pos // position of '{'
	closed   bool
}

func (n *node) pos() Pos     { return n.words[0].pos }
func (n *node) name() string { return n.words[0].text }
func (n *node) args() []token {
	return n.words[1:]
}

// argText joins the arguments with single spaces, for values that are
// free text (script command lines, e-mail subjects).
func (n *node) argText() string {
	parts := make([]string, len(n.words)-1)
	for i, w := range n.words[1:] {
		parts[i] = w.text
	}
	return strings.Join(parts, " ")
}

// treeBuilder groups tokens into statements and blocks line by line as
// the lexer produces them, so the token stream is never held whole. A
// statement ends at the end of its line, at '{' (which opens its block) or
// at '}' (which closes the enclosing one). A '{' alone on a line opens the
// block of the statement just before it.
type treeBuilder struct {
	root  node
	stack []*node // open blocks, innermost last; stack[0] is root
	last  *node   // statement completed just before, for a '{' on the next line
	d     *diag

	// Arenas: statements are sub-slices of lines lexed straight into
	// words, nodes come from chunks, and a block's children are gathered
	// on a reusable per-depth stack and stored once, exact-sized, when the
	// block closes. A 10,000-instance file then needs few allocations.
	words    []token
	nodes    []node
	ptrs     []*node
	children [][]*node // pending children per open block, by depth
}

func newTreeBuilder(d *diag) *treeBuilder {
	b := &treeBuilder{d: d}
	b.root.block = true
	b.stack = []*node{&b.root}
	b.children = [][]*node{nil}
	return b
}

func (b *treeBuilder) newNode() *node {
	if len(b.nodes) == cap(b.nodes) {
		b.nodes = make([]node, 0, 1024)
	}
	b.nodes = b.nodes[:len(b.nodes)+1]
	return &b.nodes[len(b.nodes)-1]
}

// wordBuffer returns room for at least n more tokens, for the lexer to
// write a line's tokens where the tree keeps them.
func (b *treeBuilder) wordBuffer(n int) []token {
	if cap(b.words)-len(b.words) < n {
		b.words = make([]token, 0, max(4096, n))
	}
	return b.words[len(b.words):len(b.words)]
}

// seal stores the pending children of the block at depth, exact-sized.
func (b *treeBuilder) seal(depth int) []*node {
	pending := b.children[depth]
	b.children[depth] = pending[:0]
	if len(pending) == 0 {
		return nil
	}
	if cap(b.ptrs)-len(b.ptrs) < len(pending) {
		b.ptrs = make([]*node, 0, max(4096, len(pending)))
	}
	at := len(b.ptrs)
	b.ptrs = append(b.ptrs, pending...)
	return b.ptrs[at:len(b.ptrs):len(b.ptrs)]
}

// line takes the tokens of one source line. toks must come from
// wordBuffer (or be a slice the tree may keep).
func (b *treeBuilder) line(toks []token) {
	if len(toks) > 0 && len(b.words) < cap(b.words) && &b.words[:len(b.words)+1][len(b.words)] == &toks[0] {
		b.words = b.words[:len(b.words)+len(toks)] // lexed in place
	} else {
		toks = append(b.wordBuffer(len(toks)), toks...)
		b.words = b.words[:len(b.words)+len(toks)]
	}
	toks = toks[:len(toks):len(toks)]

	var cur *node // statement being read
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		depth := len(b.stack) - 1
		switch t.kind {
		case tWord:
			j := i + 1
			for j < len(toks) && toks[j].kind == tWord {
				j++
			}
			cur = b.newNode()
			cur.words = toks[i:j:j]
			b.children[depth] = append(b.children[depth], cur)
			i = j - 1
		case tOpen:
			target := cur
			if target == nil {
				target = b.last
			}
			switch {
			case target == nil || target.block:
				b.d.errorf(t.pos, "a block opens after a keyword: keyword {", "'{' without a keyword before it")
				// Read the stray block into a detached node so its
				// contents are not taken for statements of the enclosing
				// block.
				target = &node{words: []token{{text: "{", pos: t.pos}}}
			case len(b.stack) > maxBlockDepth:
				b.d.errorf(t.pos, "check for a missing '}'", "blocks nested deeper than %d levels", maxBlockDepth)
				target = &node{words: []token{{text: "{", pos: t.pos}}}
			}
			target.block, target.open = true, t.pos
			b.stack = append(b.stack, target)
			if len(b.children) < len(b.stack) {
				b.children = append(b.children, nil)
			}
			cur, b.last = nil, nil
		case tClose:
			if depth == 0 {
				b.d.errorf(t.pos, "remove it, or look for a block closed twice", "'}' without a matching '{'")
				cur = nil
				continue
			}
			top := b.stack[depth]
			top.closed = true
			top.children = b.seal(depth)
			b.stack = b.stack[:depth]
			cur, b.last = nil, top
		}
	}
	if cur != nil {
		b.last = cur
	}
}

// finish reports blocks left open at the end of the configuration, which
// keepalived accepts, and returns the top-level statements.
func (b *treeBuilder) finish() []*node {
	for depth := len(b.stack) - 1; depth > 0; depth-- {
		n := b.stack[depth]
		n.children = b.seal(depth)
		b.d.warnf(n.open, "add the missing '}'", "block %q opened here is not closed before the end of the configuration", n.name())
	}
	b.stack = b.stack[:1]
	b.root.children = append(b.root.children, b.seal(0)...)
	return b.root.children
}
