package xmlpatch

import (
	"strings"
	"testing"
)

const queryDoc = `<?xml version="1.0"?>
<r xmlns="urn:default" xmlns:t="urn:t">
  <p name="a">  A &amp; B  </p>
  <p name='b' v="x&#10;y&quot;">B</p>
  <!-- <p name="c">C</p> -->
  <!--p name="d">D</p-->
  <d><n>one</n><u><![CDATA[<raw>]]></u></d>
  <d><n> two </n><u>2</u></d>
  <t:q k="1">Q</t:q>
  <e/>
</r>`

func TestGet(t *testing.T) {
	tests := []struct {
		path string
		want string
		ok   bool
		err  string
	}{
		{path: "/r/p[@name='a']", want: "A & B", ok: true},
		{path: `/r/p[@name="b"]`, want: "B", ok: true},
		{path: "/r/p[@name='c']"},
		{path: "/r/p[@name='d']"},
		{path: "/r/d[n='one']/u", want: "<raw>", ok: true},
		{path: "/r/d[n='two']/u", want: "2", ok: true},
		{path: "/r/d[2]/n", want: "two", ok: true},
		{path: "/r/d[3]/n"},
		{path: "/r/q", want: "Q", ok: true},
		{path: "/r/t:q[@k='1']", want: "Q", ok: true},
		{path: "/r/x:q", want: "Q", ok: true},
		{path: "/r/e", want: "", ok: true},
		{path: "/r/p", err: "/r/p: 2 elements match (lines 3, 4); add a predicate"},
		{path: "/r/d[1]", err: "/r/d[1]: element <d> (line 7) has child elements, not text"},
		{path: "/r/p[@name='a]", err: "unterminated predicate"},
		{path: "/r//p", err: "invalid element name"},
		{path: "/r/p[@name]", err: "want [@attr='value'], [child='value'] or [N]"},
		{path: "/r/p[0]", err: "position must be 1 or more"},
	}
	for _, tt := range tests {
		got, ok, err := Get([]byte(queryDoc), tt.path)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Get(%s) error = %v, want %q", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("Get(%s) = %q, %v, %v; want %q, %v", tt.path, got, ok, err, tt.want, tt.ok)
		}
	}
}

func TestGetAttr(t *testing.T) {
	tests := []struct {
		path, attr, want string
		ok               bool
	}{
		{"/r/p[@name='b']", "v", "x\ny\"", true},
		{"/r/p[@name='b']", "name", "b", true},
		{"/r/p[@name='b']", "missing", "", false},
		{"/r/p[@name='z']", "v", "", false},
		{"/r", "xmlns:t", "urn:t", true},
	}
	for _, tt := range tests {
		got, ok, err := GetAttr([]byte(queryDoc), tt.path, tt.attr)
		if err != nil || ok != tt.ok || got != tt.want {
			t.Errorf("GetAttr(%s, %s) = %q, %v, %v; want %q, %v", tt.path, tt.attr, got, ok, err, tt.want, tt.ok)
		}
	}
}

func TestCount(t *testing.T) {
	tests := []struct {
		path string
		want int
	}{
		{"/r", 1},
		{"/x", 0},
		{"/r/p", 2},
		{"/r/d", 2},
		{"/r/d/n", 2},
		{"/r/d/u", 2},
		{"/r/d[n='one']", 1},
		{"/r/d[n=\"one\"][2]", 0},
		{"/r/d[2][n='two']", 1},
		{"/r/p[@name='c']", 0},
		{"/r/*", 0},
	}
	for _, tt := range tests {
		got, err := Count([]byte(queryDoc), tt.path)
		if tt.path == "/r/*" {
			if err == nil {
				t.Errorf("Count(/r/*): want an error, wildcards are not supported")
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Count(%s) = %d, %v; want %d", tt.path, got, err, tt.want)
		}
	}
}

func TestCountPositionIsPerParent(t *testing.T) {
	src := []byte("<r><a><b>1</b><b>2</b></a><a><b>3</b></a></r>")
	if n, err := Count(src, "/r/a/b[1]"); err != nil || n != 2 {
		t.Fatalf("Count = %d, %v; want 2 (one first <b> per <a>)", n, err)
	}
	if v, _, err := Get(src, "/r/a[1]/b[2]"); err != nil || v != "2" {
		t.Fatalf("Get = %q, %v", v, err)
	}
}

func TestMalformedInput(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{"<a>\n<b>\n</a>", "line 3: end tag </a> does not match start tag <b> (line 2)"},
		{"<a>\n<b>\n", "line 3: unexpected end of input: <b> (line 2) is not closed"},
		{"<a/>\n<b/>", "line 2: second root element <b> (the root <a> ended on line 1)"},
		{"<a/>\njunk", "line 2: text outside the root element: \"junk\""},
		{"", "line 1: no root element"},
		{"<!-- only a comment -->", "line 1: no root element"},
		{"<a>\n<!-- open\n</a>", "line 2: unterminated comment (no \"-->\")"},
		{"<a x=1/>", "line 1: value of attribute x in <a> is not quoted"},
		{"<a x='1'y='2'/>", "line 1: missing space before attribute in <a>"},
		{"<a x='1' x='2'/>", "line 1: duplicate attribute x in <a>"},
		{"<a x='<'/>", "line 1: '<' in value of attribute x in <a>"},
		{"<a>\n\n fish & chips</a>", "line 3: invalid character or entity reference \"& chips\" (write & as &amp;)"},
		{"<a>&nbsp;</a>", "line 1: undefined entity \"&nbsp;\""},
		{"<a>< b</a>", "line 1: '<' not followed by a name (write < as &lt;)"},
		{"</a>", "line 1: end tag </a> has no matching start tag"},
		{"<a><![CDATA[x</a>", "line 1: unterminated CDATA section (no \"]]>\")"},
		{"<a\n", "line 1: start tag <a> is not closed"},
	}
	for _, tt := range tests {
		_, err := Count([]byte(tt.src), "/a")
		if err == nil || err.Error() != "input is not well-formed XML: "+tt.want {
			t.Errorf("Count(%q) error:\n got: %v\nwant: input is not well-formed XML: %s", tt.src, err, tt.want)
		}
	}
}

func TestParserAcceptsOddButValidInput(t *testing.T) {
	docs := []string{
		"<!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>",
		"<?xml version='1.0' encoding='ISO-8859-1'?>\n<?pi data?>\n<a><?inner pi?><!--<!---->x</a>\n",
		"\ufeff<a/>",
		"<a\n  b = 'x'\n\tc=\"y\"\n/>",
		"<a>&#65;&#x42;&amp;&lt;&gt;&quot;&apos;]]&gt;</a>",
		"<a>\u00a0</a>\u00a0"[:len("<a>\u00a0</a>")],
		"<a>!-- not a comment --></a>",
	}
	for _, d := range docs {
		if _, err := Count([]byte(d), "/a"); err != nil {
			t.Errorf("Count(%q): %v", d, err)
		}
	}
}
