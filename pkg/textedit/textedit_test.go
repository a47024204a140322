package textedit

import (
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	prop := func(k, v string) Edit { return Edit{Op: Property, Key: k, Value: v} }
	repl := func(p, v string) Edit { return Edit{Op: Replace, Pattern: p, Value: v} }
	cases := []struct {
		name    string
		src     string
		edits   []Edit
		want    string
		wantErr string
	}{
		{"set existing keeps separator and spacing", "# c\na.b = 1\nc=2\n", []Edit{prop("a.b", "5")}, "# c\na.b = 5\nc=2\n", ""},
		{"colon separator", "a.b: 1\n", []Edit{prop("a.b", "2")}, "a.b: 2\n", ""},
		{"last live line wins, earlier left alone", "k=1\nx=0\nk=2\n", []Edit{prop("k", "3")}, "k=1\nx=0\nk=3\n", ""},
		{"prefix key is a different key", "k.more=1\n", []Edit{prop("k", "2")}, "k.more=1\nk=2\n", ""},
		{"uncomment the only commented line", "#log4j.logger.com.hazelcast=WARN\nx=1\n", []Edit{prop("log4j.logger.com.hazelcast", "INFO")}, "log4j.logger.com.hazelcast=INFO\nx=1\n", ""},
		{"uncomment keeps indentation", "  # k = 1\n", []Edit{prop("k", "2")}, "  k = 2\n", ""},
		{"two commented lines: append", "#k=1\n#k=2\n", []Edit{prop("k", "3")}, "#k=1\n#k=2\nk=3\n", ""},
		{"live line preferred over comment", "#k=1\nk=2\n", []Edit{prop("k", "3")}, "#k=1\nk=3\n", ""},
		{"append to empty file", "", []Edit{prop("k", "v")}, "k=v\n", ""},
		{"append keeps missing final newline", "a=1\nb=2", []Edit{prop("c", "3")}, "a=1\nb=2\nc=3", ""},
		{"CRLF preserved on append and edit", "a=1\r\nb=2\r\n", []Edit{prop("b", "5"), prop("c", "3")}, "a=1\r\nb=5\r\nc=3\r\n", ""},
		{"CRLF without final newline", "a=1\r\nb=2", []Edit{prop("c", "3")}, "a=1\r\nb=2\r\nc=3", ""},
		{"continuation refused", "k=a \\\n  b\n", []Edit{prop("k", "x")}, "", "continues on the next line"},
		{"bad key", "", []Edit{prop("a b", "x")}, "", "property key"},
		{"multi-line value refused", "", []Edit{prop("a", "x\ny")}, "", "spans lines"},
		{"replace on live lines only", "# -Xms256m -Xmx1024m\nJVM=\"-Xms256m -Xmx1024m\"\n", []Edit{repl(`-Xms\d+m -Xmx\d+m`, "-Xms512m -Xmx2048m")},
			"# -Xms256m -Xmx1024m\nJVM=\"-Xms512m -Xmx2048m\"\n", ""},
		{"replace is a no-op when the value is there", "x -Xmx2048m -Xmx1m\n", []Edit{repl(`-Xmx\d+m`, "-Xmx2048m")}, "x -Xmx2048m -Xmx1m\n", ""},
		{"replace with no match fails", "a\n", []Edit{repl(`zzz`, "y")}, "", `pattern "zzz" matches no line`},
		{"replace to empty: removal done", "a\n", []Edit{repl(`zzz`, "")}, "a\n", ""},
		{"replace value with $ is literal", "p=1\n", []Edit{repl(`p=\d`, "p=$1")}, "p=$1\n", ""},
		{"bad pattern", "a\n", []Edit{repl(`(`, "y")}, "", "pattern"},
		{"unknown op", "a\n", []Edit{{Op: "delete"}}, "", "unknown text op"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, changed, err := Apply("f.properties", []byte(c.src), c.edits)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "f.properties") {
					t.Fatalf("err = %v, want one naming the file and containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Fatalf("got %q, want %q", out, c.want)
			}
			if changed != (c.want != c.src) {
				t.Errorf("changed = %v", changed)
			}
			again, changed2, err := Apply("f.properties", out, c.edits)
			if err != nil || changed2 || string(again) != string(out) {
				t.Errorf("second application: changed=%v err=%v out=%q", changed2, err, again)
			}
		})
	}
}

func TestParseOp(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{{"property", true}, {"replace", true}, {"set", false}, {"", false}} {
		if _, err := ParseOp(c.in); (err == nil) != c.ok {
			t.Errorf("ParseOp(%q) err = %v", c.in, err)
		}
	}
}
