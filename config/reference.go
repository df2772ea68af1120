package config

import (
	"fmt"
	"io"
	"strings"
)

// WriteReference writes docs/config-reference.md from the keyword table, so
// the reference can never disagree with what the reader accepts.
func WriteReference(w io.Writer) error {
	t := keywords()
	paths := blockPaths(t.root)
	var sup, acc, rej int
	for _, b := range Blocks() {
		for _, k := range b.keywords {
			switch k.Status {
			case Supported:
				sup++
			case Accepted:
				acc++
			case Rejected:
				rej++
			}
		}
	}
	var b strings.Builder
	b.WriteString("# keepalived.conf reference\n\n")
	b.WriteString("Generated from the keyword table in `config/` by `make docs`; do not edit by hand.\n")
	b.WriteString("A test fails when this file is stale.\n\n")
	b.WriteString("Vigil reads keepalived.conf unchanged. Each keyword has one status:\n\n")
	b.WriteString("- **supported**: read into Vigil's configuration model and acted on by the subsystem that owns it.\n")
	b.WriteString("- **accepted**: recognised and checked loosely, but not implemented yet: each use draws a warning\n")
	b.WriteString("  naming file:line, and the line has no effect.\n")
	b.WriteString("- **rejected**: the configuration is refused, for the reason given.\n\n")
	b.WriteString("Any other keyword draws an \"unknown keyword\" warning naming file:line:col and is ignored.\n\n")
	fmt.Fprintf(&b, "Entries: %d supported, %d accepted, %d rejected (a keyword allowed in several blocks counts once per block).\n\n",
		sup, acc, rej)
	b.WriteString("Grammar: `!` and `#` start comments at the start of a word; `{ }` blocks may open on the keyword's\n")
	b.WriteString("line or the next and may sit on one line; `\"...\"` is one word; `include PATTERN` reads the files\n")
	b.WriteString("matching a glob relative to the including file; `$NAME=value` defines text substituted for `$NAME`\n")
	b.WriteString("or `${NAME}` in later lines; a line starting `@ID` is read only with `--config-id ID`, one starting\n")
	b.WriteString("`@^ID` only without it.\n")
	for _, blk := range Blocks() {
		b.WriteString("\n## ")
		b.WriteString(paths[blk])
		b.WriteString("\n\n")
		if blk.Doc != "" {
			b.WriteString(blk.Doc)
			b.WriteString("\n\n")
		}
		if blk.Item != nil {
			fmt.Fprintf(&b, "A list block: one entry per line: `%s`.\n", blk.ItemSyntax)
			continue
		}
		if len(blk.keywords) == 0 {
			b.WriteString("Its contents are skipped as a whole.\n")
			continue
		}
		b.WriteString("| keyword | arguments | default | status | notes |\n|---|---|---|---|---|\n")
		for _, k := range blk.keywords {
			doc := k.Doc
			if k.Alias != "" {
				doc = fmt.Sprintf("Alias of `%s`. %s", k.Alias, doc)
			}
			if k.Block != nil {
				doc = strings.TrimSpace(doc + " Opens a block (below).")
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n",
				k.Name, cell(k.Args), cell(k.Default), statusCell(k.Status), cell(doc))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func statusCell(s Status) string {
	switch s {
	case Supported:
		return "supported"
	case Accepted:
		return "accepted"
	default:
		return "**rejected**"
	}
}

// cell escapes text for a Markdown table cell.
func cell(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\n", " ")
	if strings.ContainsAny(s, "<>") && !strings.Contains(s, "`") {
		s = "`" + s + "`"
	}
	return s
}

// blockPaths names each block by the keywords leading to it, e.g.
// "vrrp_instance > authentication", using the first path found.
func blockPaths(root *Block) map[*Block]string {
	paths := map[*Block]string{root: "Top level"}
	var visit func(b *Block, prefix string)
	visit = func(b *Block, prefix string) {
		for _, k := range b.keywords {
			if k.Block == nil {
				continue
			}
			if _, done := paths[k.Block]; done {
				continue
			}
			p := k.Name
			if prefix != "" {
				p = prefix + " > " + k.Name
			}
			paths[k.Block] = p
			visit(k.Block, p)
		}
	}
	visit(root, "")
	return paths
}
