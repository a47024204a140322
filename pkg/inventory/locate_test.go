package inventory

import (
	"strings"
	"testing"
)

func TestIndexLines(t *testing.T) {
	doc := strings.Join([]string{
		`# comment [fake]`, // 1
		`top = 1`,          // 2
		`[database]`,       // 3
		`host = "198.18.0.10" # [node]`,
		`notes = """`,                  // 5
		`port = 1`,                     // 6: inside a multi-line string
		`[[node]]`,                     // 7: inside it too
		`"""`,                          // 8
		`list = [`,                     // 9
		`  "a = b",`,                   // 10
		`  '[[node]]',`,                // 11
		`]`,                            // 12
		`[[node]]`,                     // 13
		`name = "mgr1"`,                // 14
		`  [[node]] # indented`,        // 15
		`name = "wkr1"`,                // 16
		`"quoted.key" = 1`,             // 17
		`dotted.part = 2`,              // 18
		`raw = '''`,                    // 19
		`x = 1 '''`,                    // 20
		`y = 'it''s'`,                  // 21: not valid TOML, skipped safely
		`[node.sub]`,                   // 22: sub-table of node[2]
		"key = 1\r",                    // 23
		`[ "ssh" . 'x' ]`,              // 24
		`a = "tricky \" # [[node]]"`,   // 25
		`b = """one line"""`,           // 26
		`c = 3`,                        // 27
		`d = """ends with quotes"""""`, // 28
		`e = 4`,                        // 29
	}, "\n")
	ix := indexLines(doc)
	want := map[string]int{
		"top": 2, "database": 3, "database.host": 4, "database.notes": 5, "database.list": 9,
		"node[1]": 13, "node[1].name": 14, "node[2]": 15, "node[2].name": 16,
		`node[2]."quoted.key"`: 17, "node[2].dotted": 18, "node[2].dotted.part": 18, "node[2].raw": 19,
		"node[2].sub": 22, "node[2].sub.key": 23, `ssh.x`: 24, "ssh.x.a": 25, "ssh.x.b": 26, "ssh.x.c": 27, "ssh.x.e": 29,
	}
	for path, line := range want {
		if ix[path] != line {
			t.Errorf("line of %s = %d, want %d", path, ix[path], line)
		}
	}
	for _, absent := range []string{"database.port", "node[3]", "x", "node[2].x"} {
		if n, ok := ix[absent]; ok {
			t.Errorf("%s recorded at line %d, but it is inside a string", absent, n)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(defaultParts().doc())
	f.Add("[[node]]\nname = \"a\"\nnotes = \"\"\"\n[[node]]\n\"\"\"\n[node.x]\ny = [\n1,\n]\n")
	f.Add("a.\"b.c\" = { d = 1 }\n['x'.y]\nz = '''\n'''\n")
	f.Fuzz(func(t *testing.T, doc string) {
		indexLines(doc) // must not panic on any text, valid TOML or not
		inv, err := Parse("inventory.toml", "/nonexistent", []byte(doc), testEnv, Options{})
		if (inv == nil) == (err == nil) {
			t.Fatalf("Parse returned inventory %v and error %v", inv != nil, err)
		}
		if errs, ok := err.(Errors); ok && len(errs) == 0 {
			t.Fatal("Parse returned an empty Errors")
		}
	})
}
