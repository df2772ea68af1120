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

	// Arenas: statements are sub-slices of copied lines and nodes come
	// from chunks, which keeps a 10,000-instance file to few allocations.
	words []token
	nodes []node
}

func newTreeBuilder(d *diag) *treeBuilder {
	b := &treeBuilder{d: d}
	b.root.block = true
	b.stack = []*node{&b.root}
	return b
}

func (b *treeBuilder) newNode() *node {
	if len(b.nodes) == cap(b.nodes) {
		b.nodes = make([]node, 0, 1024)
	}
	b.nodes = b.nodes[:len(b.nodes)+1]
	return &b.nodes[len(b.nodes)-1]
}

// line takes the tokens of one source line.
func (b *treeBuilder) line(toks []token) {
	if cap(b.words)-len(b.words) < len(toks) {
		b.words = make([]token, 0, max(4096, len(toks)))
	}
	at := len(b.words)
	b.words = append(b.words, toks...)
	toks = b.words[at:len(b.words):len(b.words)]

	var cur *node // statement being read
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		top := b.stack[len(b.stack)-1]
		switch t.kind {
		case tWord:
			j := i + 1
			for j < len(toks) && toks[j].kind == tWord {
				j++
			}
			cur = b.newNode()
			cur.words = toks[i:j:j]
			top.children = append(top.children, cur)
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
			cur, b.last = nil, nil
		case tClose:
			if len(b.stack) == 1 {
				b.d.errorf(t.pos, "remove it, or look for a block closed twice", "'}' without a matching '{'")
				cur = nil
				continue
			}
			top.closed = true
			b.stack = b.stack[:len(b.stack)-1]
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
	for i := len(b.stack) - 1; i > 0; i-- {
		n := b.stack[i]
		b.d.warnf(n.open, "add the missing '}'", "block %q opened here is not closed before the end of the configuration", n.name())
	}
	b.stack = b.stack[:1]
	return b.root.children
}
