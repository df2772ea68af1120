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

// treeParser groups the token stream into statements and blocks. A
// statement ends at the end of its line, at '{' (which opens its block) or
// at '}' (which closes the enclosing one). A '{' alone on a line opens the
// block of the statement just before it.
type treeParser struct {
	toks []token
	i    int
	d    *diag
}

func buildTree(toks []token, d *diag) []*node {
	p := &treeParser{toks: toks, d: d}
	root := &node{block: true}
	p.body(root, 0)
	return root.children
}

func (p *treeParser) body(parent *node, depth int) {
	var cur, last *node
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		switch t.kind {
		case tWord:
			if cur == nil {
				cur = &node{}
				parent.children = append(parent.children, cur)
			}
			cur.words = append(cur.words, t)
		case tEOL:
			if cur != nil {
				last, cur = cur, nil
			}
		case tOpen:
			target := cur
			if target == nil {
				target = last
			}
			if target == nil || target.block {
				p.d.errorf(t.pos, "a block opens after a keyword: keyword {", "'{' without a keyword before it")
				// Read the stray block so its contents are not taken for
				// statements of the enclosing one.
				p.body(&node{block: true, open: t.pos, words: []token{{text: "{", pos: t.pos}}}, depth+1)
				continue
			}
			target.block, target.open = true, t.pos
			if depth+1 > maxBlockDepth {
				p.d.errorf(t.pos, "check for a missing '}'", "blocks nested deeper than %d levels", maxBlockDepth)
				p.skipBlock()
			} else {
				p.body(target, depth+1)
			}
			last, cur = target, nil
		case tClose:
			if depth == 0 {
				p.d.errorf(t.pos, "remove it, or look for a block closed twice", "'}' without a matching '{'")
				continue
			}
			parent.closed = true
			return
		}
	}
	if depth > 0 && !parent.closed {
		p.d.warnf(parent.open, "add the missing '}'", "block %q opened here is not closed before the end of the configuration", parent.name())
	}
}

// skipBlock consumes tokens up to the '}' matching an already consumed '{'.
func (p *treeParser) skipBlock() {
	level := 1
	for p.i < len(p.toks) && level > 0 {
		switch p.toks[p.i].kind {
		case tOpen:
			level++
		case tClose:
			level--
		}
		p.i++
	}
}
