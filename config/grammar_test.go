package config

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"testing"
)

// memFS is an in-memory file tree for include tests.
type memFS map[string]string

func (m memFS) options(id string) Options {
	return Options{
		ConfigID: id,
		ReadFile: func(p string) ([]byte, error) {
			s, ok := m[p]
			if !ok {
				return nil, fmt.Errorf("open %s: %w", p, fs.ErrNotExist)
			}
			return []byte(s), nil
		},
		Glob: func(pattern string) ([]string, error) {
			var out []string
			for name := range m {
				ok, err := path.Match(pattern, name)
				if err != nil {
					return nil, err
				}
				if ok {
					out = append(out, name)
				}
			}
			sort.Strings(out)
			return out, nil
		},
	}
}

// readTree runs the source and tree stages only.
func (m memFS) readTree(main, id string) (string, Diagnostics) {
	d := &diag{}
	src := newSource(m.options(id), d)
	src.readPath(main, Pos{})
	return render(src.tree.finish()), d.list
}

// render prints a tree compactly: statements separated by "; ", blocks in
// braces, quoted words in quotes.
func render(nodes []*node) string {
	var parts []string
	for _, n := range nodes {
		var ws []string
		for _, w := range n.words {
			if w.quoted {
				ws = append(ws, fmt.Sprintf("%q", w.text))
			} else {
				ws = append(ws, w.text)
			}
		}
		s := strings.Join(ws, " ")
		if n.block {
			s += " {" + render(n.children) + "}"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestGrammar(t *testing.T) {
	tests := []struct {
		name    string
		files   memFS
		id      string
		want    string
		diags   []string // substrings, in order, "file:line:col: severity: msg"
		noDiags bool
	}{
		{
			name:  "comments whole line and trailing",
			files: memFS{"/k.conf": "! bang\n# hash\na 1 # trailing\nb 2 ! trailing\n"},
			want:  "a 1; b 2", noDiags: true,
		},
		{
			name:  "comment chars cut anywhere outside quotes",
			files: memFS{"/k.conf": "auth_pass ab#cd\nrouter_id x!y\n"},
			want:  "auth_pass ab; router_id x", noDiags: true,
		},
		{
			name:  "escaped comment chars are literal",
			files: memFS{"/k.conf": `auth_pass ab\#cd\!e` + "\n"},
			want:  "auth_pass ab#cd!e", noDiags: true,
		},
		{
			name:  "a quote ends an unquoted word",
			files: memFS{"/k.conf": `router_id x"a b"y` + "\n"},
			want:  `router_id x "a b" y`, noDiags: true,
		},
		{
			name:  "single quotes are ordinary",
			files: memFS{"/k.conf": "router_id 'a b'\n"},
			want:  "router_id 'a b'", noDiags: true,
		},
		{
			name:  "quoted braces stay in the word",
			files: memFS{"/k.conf": `router_id "a{b}c"` + "\n"},
			want:  `router_id "a{b}c"`, noDiags: true,
		},
		{
			name:  "quoted strings keep spaces and comment chars",
			files: memFS{"/k.conf": `notify "/bin/x.sh a # b"` + "\n"},
			want:  `notify "/bin/x.sh a # b"`, noDiags: true,
		},
		{
			name:  "block opened on the keyword line",
			files: memFS{"/k.conf": "g {\n a 1\n}\n"},
			want:  "g {a 1}", noDiags: true,
		},
		{
			name:  "block opened on the next line",
			files: memFS{"/k.conf": "g\n{\n a 1\n}\nh 2\n"},
			want:  "g {a 1}; h 2", noDiags: true,
		},
		{
			name:  "braces attached to words",
			files: memFS{"/k.conf": "g{\n a 1}\nh{b}\n"},
			want:  "g {a 1}; h {b}", noDiags: true,
		},
		{
			name:  "one-line nested blocks",
			files: memFS{"/k.conf": "i { auth { t PASS } v { 198.18.0.1 } }\n"},
			want:  "i {auth {t PASS}; v {198.18.0.1}}", noDiags: true,
		},
		{
			name:  "empty block",
			files: memFS{"/k.conf": "g {}\n"},
			want:  "g {}", noDiags: true,
		},
		{
			name:  "missing close brace at end is a warning",
			files: memFS{"/k.conf": "i X {\n a 1\n"},
			want:  "i X {a 1}",
			diags: []string{`/k.conf:1:5: warning: block "i" opened here is not closed`},
		},
		{
			name:  "stray close brace is an error",
			files: memFS{"/k.conf": "a 1\n}\nb 2\n"},
			want:  "a 1; b 2",
			diags: []string{"/k.conf:2:1: error: '}' without a matching '{'"},
		},
		{
			name:  "brace without keyword is an error and its body is not hoisted",
			files: memFS{"/k.conf": "{\n a 1\n}\nb 2\n"},
			want:  "b 2",
			diags: []string{"/k.conf:1:1: error: '{' without a keyword before it"},
		},
		{
			name:  "unterminated quote",
			files: memFS{"/k.conf": "notify \"/bin/x\nb 2\n"},
			want:  `notify "/bin/x"; b 2`,
			diags: []string{"/k.conf:1:8: error: unterminated quoted string"},
		},
		{
			name:  "definitions are substituted",
			files: memFS{"/k.conf": "$IF=eth1\n$VIP=  198.18.0.9/24\ni { interface $IF\n v { ${VIP} dev $IF }\n}\n"},
			want:  "i {interface eth1; v {198.18.0.9/24 dev eth1}}", noDiags: true,
		},
		{
			name:  "$NAME only before a blank, comma, ')' or the end; ${NAME} anywhere",
			files: memFS{"/k.conf": "$B=11\n$C=1\nr${B}-$C-$C\nv $B.2\n"},
			want:  "r11-$C-1; v $B.2", noDiags: true,
		},
		{
			name:  "no space before = in a definition",
			files: memFS{"/k.conf": "$RID =spaced\n"},
			want:  "$RID =spaced", noDiags: true,
		},
		{
			name:  "definitions inside quotes and recursive",
			files: memFS{"/k.conf": "$A=x\n$B=$A y\nnotify \"/bin/echo $B end\"\n"},
			want:  `notify "/bin/echo x y end"`, noDiags: true,
		},
		{
			name:  "a definition may hold a keyword",
			files: memFS{"/k.conf": "$KW=router_id\n$KW kw\n"},
			want:  "router_id kw", noDiags: true,
		},
		{
			name:  "self-referencing definition is bounded",
			files: memFS{"/k.conf": "$A=x $A\nv $A\n"},
			want:  "v " + strings.Repeat("x ", maxSubstitutions) + "$",
			diags: []string{"/k.conf:2:3: error: more than 4096 substitutions in one line"},
		},
		{
			name:  "undefined braced definition is an error",
			files: memFS{"/k.conf": "router_id a${UNDEF}b\n"},
			want:  "router_id a$ {UNDEF}; b",
			diags: []string{"/k.conf:1:12: error: undefined definition ${UNDEF}"},
		},
		{
			name:  "multi-line definition replays where it stands alone",
			files: memFS{"/k.conf": "$BLK= \\\n a 1 \\\n b 2\nx {\n$BLK\n}\n"},
			want:  "x {a 1; b 2}", noDiags: true,
		},
		{
			name:  "built-in definitions",
			files: memFS{"/etc/k/main.conf": "p ${_PWD} ${_INSTANCE}\n"},
			id:    "node1",
			want:  "p /etc/k node1", noDiags: true,
		},
		{
			name:  "~SEQ replays the rest of the line",
			files: memFS{"/k.conf": "v {\n~SEQ(I, 1, 3) 198.18.5.${I}\n~SEQ(J, 3) j$J\n~SEQx(K, 9, 2, 12) k$K\n}\n"},
			want:  "v {198.18.5.1; 198.18.5.2; 198.18.5.3; j1; j2; j3; k9; kb}", noDiags: true,
		},
		{
			name:  "bad ~SEQ",
			files: memFS{"/k.conf": "~SEQ(I, 1, 0, 3) x\n"},
			want:  "",
			diags: []string{"/k.conf:1:1: error: invalid ~SEQ specification"},
		},
		{
			name:  "a definition may hold several words",
			files: memFS{"/k.conf": "$AUTH=auth_type PASS\na { $AUTH }\n"},
			want:  "a {auth_type PASS}", noDiags: true,
		},
		{
			name:  "undefined names are left alone",
			files: memFS{"/k.conf": "$A=1\nx $B $A\n"},
			want:  "x $B 1", noDiags: true,
		},
		{
			name:  "conditional lines without a matching id",
			files: memFS{"/k.conf": "@high p 170\n@^high p 85\nq 1\n@high\n@ x 1\n@^ y 2\n"},
			id:    "other",
			want:  "p 85; q 1; y 2", noDiags: true,
		},
		{
			name:  "conditional definitions",
			files: memFS{"/k.conf": "@main $P=200\n@^main $P=50\npriority $P\n"},
			id:    "main",
			want:  "priority 200", noDiags: true,
		},
		{
			name:  "conditional lines with an id",
			files: memFS{"/k.conf": "@high p 170\n@low p 85\n@^high r 1\n"},
			id:    "high",
			want:  "p 170", noDiags: true,
		},
		{
			name: "include relative to the including file, nested, in order",
			files: memFS{
				"/etc/k/main.conf":     "a 1\ninclude conf.d/*.conf\nz 9\n",
				"/etc/k/conf.d/1.conf": "b 2\ninclude ../more/x.inc\n",
				"/etc/k/conf.d/2.conf": "c 3\n",
				"/etc/k/more/x.inc":    "d 4\n",
			},
			want: "a 1; b 2; d 4; c 3; z 9", noDiags: true,
		},
		{
			name: "include inside a block",
			files: memFS{
				"/k.conf": "i {\ninclude vips\n}\n",
				"/vips":   "v { 198.18.0.1 }\n",
			},
			want: "i {v {198.18.0.1}}", noDiags: true,
		},
		{
			name: "include loop is an error naming the chain",
			files: memFS{
				"/a.conf": "x 1\ninclude b.conf\n",
				"/b.conf": "y 2\ninclude a.conf\n",
			},
			want:  "x 1; y 2",
			diags: []string{"/b.conf:2:9: error: include loop: /a.conf -> /b.conf -> /a.conf"},
		},
		{
			name:  "include matching nothing",
			files: memFS{"/k.conf": "include /nowhere/*.conf\na 1\n"},
			want:  "a 1",
			diags: []string{`/k.conf:1:9: warning: include "/nowhere/*.conf" matches no file`},
		},
		{
			name:  "strict include of a missing file is an error",
			files: memFS{"/k.conf": "includea /nowhere.conf\nincluder /nowhere/*.conf\n"},
			want:  "",
			diags: []string{`/k.conf:1:10: error: included file "/nowhere.conf" does not exist`},
		},
		{
			name: "include with brace alternatives in the order written",
			files: memFS{
				"/k.conf":        "include conf.d/{c,a}.conf\n",
				"/conf.d/a.conf": "a 1\n",
				"/conf.d/c.conf": "c 3\n",
			},
			want: "c 3; a 1", noDiags: true,
		},
		{
			name: "include pattern from a definition, with a trailing comment",
			files: memFS{
				"/k.conf":        "$F=conf.d/b.conf\ninclude $F # the b file\n",
				"/conf.d/b.conf": "b 2\n",
			},
			want: "b 2", noDiags: true,
		},
		{
			name:  "a word starting with include is not an include",
			files: memFS{"/k.conf": "include_check\nincludes x\n"},
			want:  "include_check; includes x", noDiags: true,
		},
		{
			name:  "positions survive substitution",
			files: memFS{"/k.conf": "$X=198.18.0.1\n  v $X \"q\n"},
			want:  `v 198.18.0.1 "q"`,
			diags: []string{"/k.conf:2:8: error: unterminated quoted string"},
		},
		{
			name:  "positions after an escape",
			files: memFS{"/k.conf": `a\#b "x` + "\n"},
			want:  `a#b "x"`,
			diags: []string{"/k.conf:1:6: error: unterminated quoted string"},
		},
		{
			name:  "CRLF line ends",
			files: memFS{"/k.conf": "g {\r\n a 1\r\n}\r\n"},
			want:  "g {a 1}", noDiags: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			main := "/k.conf"
			if _, ok := tt.files[main]; !ok {
				for _, m := range []string{"/etc/k/main.conf", "/a.conf"} {
					if _, ok := tt.files[m]; ok {
						main = m
					}
				}
			}
			id := tt.id
			if id == "" {
				id = "test-host"
			}
			got, diags := tt.files.readTree(main, id)
			if got != tt.want {
				t.Errorf("tree:\n got %s\nwant %s", got, tt.want)
			}
			if tt.noDiags && len(diags) > 0 {
				t.Errorf("unexpected diagnostics:\n%v", diags.Error())
			}
			if len(diags) != len(tt.diags) && !tt.noDiags {
				t.Errorf("got %d diagnostics, want %d:\n%v", len(diags), len(tt.diags), diags.Error())
			}
			for i, want := range tt.diags {
				if i < len(diags) && !strings.HasPrefix(diags[i].String(), want) {
					t.Errorf("diagnostic %d:\n got %s\nwant prefix %s", i, diags[i], want)
				}
			}
		})
	}
}

func TestSplitCommand(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/path/to_master.sh inside", []string{"/path/to_master.sh", "inside"}},
		{"</dev/tcp/127.0.0.1/80", []string{"</dev/tcp/127.0.0.1/80"}},
		{"/bin/x 'a b'  c", []string{"/bin/x", "a b", "c"}},
		{`/bin/x a\ b \t\x41\101\cA\\`, []string{"/bin/x", "a b", "\tAA\x01\\"}},
		{"  ", nil},
		{"/bin/x a\u00a0b", []string{"/bin/x", "a\u00a0b"}},
		{"/bin/x ''", []string{"/bin/x", ""}},
	}
	for _, tt := range tests {
		got := splitCommand(tt.in)
		if fmt.Sprintf("%q", got) != fmt.Sprintf("%q", tt.want) {
			t.Errorf("splitCommand(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
