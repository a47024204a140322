package xmlpatch

import (
	"errors"
	"strings"
	"testing"
)

// crlf converts a test document to CRLF line endings.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func TestPatchOps(t *testing.T) {
	tests := []struct {
		name string
		src  string
		ops  []Op
		want string // "" means: unchanged
	}{
		// SetText
		{
			name: "set text replaces only the content",
			src:  "<r>\n  <a x='1'>old</a>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "new"}},
			want: "<r>\n  <a x='1'>new</a>\n</r>\n",
		},
		{
			name: "set text equal value is a no-op",
			src:  "<r><a>same</a></r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "same"}},
		},
		{
			name: "set text compares trimmed text",
			src:  "<r><a>\n   same\n</a></r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "same"}},
		},
		{
			name: "set text compares unescaped text",
			src:  "<r><a>a &amp; b &lt;c&gt;</a></r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "a & b <c>"}},
		},
		{
			name: "set text escapes & < > and leaves quotes",
			src:  "<r><a>x</a></r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: `a<b & c>d "q" 'p'`}},
			want: `<r><a>a&lt;b &amp; c&gt;d "q" 'p'</a></r>`,
		},
		{
			name: "set text expands an empty-element tag",
			src:  "<r>\n  <a/>\n  <b />\n  <c k=\"v\" />\n</r>",
			ops: []Op{
				{Kind: SetText, Path: "/r/a", Value: "1"},
				{Kind: SetText, Path: "/r/b", Value: "2"},
				{Kind: SetText, Path: "/r/c", Value: "3"},
			},
			want: "<r>\n  <a>1</a>\n  <b>2</b>\n  <c k=\"v\">3</c>\n</r>",
		},
		{
			name: "set text replaces CDATA content",
			src:  "<r><a><![CDATA[x < y]]></a></r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "z"}},
			want: "<r><a>z</a></r>",
		},
		{
			name: "set text matches by attribute predicate, double or single quoted",
			src:  "<r>\n    <p name=\"a\">1</p>\n    <p name=\"b\">2</p>\n</r>\n",
			ops: []Op{
				{Kind: SetText, Path: `/r/p[@name="b"]`, Value: "20"},
				{Kind: SetText, Path: "/r/p[@name='a']", Value: "10"},
			},
			want: "<r>\n    <p name=\"a\">10</p>\n    <p name=\"b\">20</p>\n</r>\n",
		},
		{
			name: "set text matches by child predicate and position",
			src:  "<r>\n <d><n>A</n><u>1</u></d>\n <d><n>B</n><u>2</u></d>\n</r>",
			ops: []Op{
				{Kind: SetText, Path: "/r/d[n='B']/u", Value: "22"},
				{Kind: SetText, Path: "/r/d[1]/u", Value: "11"},
			},
			want: "<r>\n <d><n>A</n><u>11</u></d>\n <d><n>B</n><u>22</u></d>\n</r>",
		},
		{
			name: "set text creates a missing element as the last child, indented like its siblings",
			src:  "<r>\n    <a>1</a>\n    <b>2</b>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/c", Value: "3"}},
			want: "<r>\n    <a>1</a>\n    <b>2</b>\n    <c>3</c>\n</r>\n",
		},
		{
			name: "set text creates after the last sibling with the same name",
			src:  "<r>\n  <p n=\"a\">1</p>\n  <p n=\"b\">2</p>\n  <q/>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/p[@n='c']", Value: "3"}},
			want: "<r>\n  <p n=\"a\">1</p>\n  <p n=\"b\">2</p>\n  <p n=\"c\">3</p>\n  <q/>\n</r>\n",
		},
		{
			name: "set text creates after a fused comment holding a look-alike",
			src:  "<r>\n    <a>1</a>\n    <!--HostName>www.example.org</HostName-->\n\n    <b>2</b>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/HostName", Value: "node1"}},
			want: "<r>\n    <a>1</a>\n    <!--HostName>www.example.org</HostName-->\n    <HostName>node1</HostName>\n\n    <b>2</b>\n</r>\n",
		},
		{
			name: "look-alike comments that name the attribute value win, the last of equals",
			src:  "<r>\n  <!--m path=\"/a\"/-->\n  <!--m path=\"/b\"/-->\n  <!-- <m path=\"/c\"/> -->\n  <x/>\n</r>",
			ops:  []Op{{Kind: Ensure, Path: "/r/m[@path='/b']", Value: `<m path="/b"/>`}},
			want: "<r>\n  <!--m path=\"/a\"/-->\n  <!--m path=\"/b\"/-->\n  <m path=\"/b\"/>\n  <!-- <m path=\"/c\"/> -->\n  <x/>\n</r>",
		},
		{
			name: "set text creates missing ancestors from predicates",
			src:  "<c>\n  <ds>\n    <d>\n      <name>A</name>\n    </d>\n  </ds>\n</c>\n",
			ops:  []Op{{Kind: SetText, Path: "/c/ds/d[name='B'][@kind='x']/def/url", Value: "jdbc:x"}},
			want: "<c>\n  <ds>\n    <d>\n      <name>A</name>\n    </d>\n    <d kind=\"x\">\n      <name>B</name>\n      <def>\n        <url>jdbc:x</url>\n      </def>\n    </d>\n  </ds>\n</c>\n",
		},
		{
			name: "a new child of an element without children gets the file's indentation unit (tabs)",
			src:  "<r>\n\t<a>\n\t\t<x/>\n\t</a>\n\t<b>\n\t</b>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/b/c", Value: "1"}},
			want: "<r>\n\t<a>\n\t\t<x/>\n\t</a>\n\t<b>\n\t\t<c>1</c>\n\t</b>\n</r>\n",
		},
		{
			name: "a self-closing parent is expanded",
			src:  "<r>\n   <members/>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/members/member", Value: "h"}},
			want: "<r>\n   <members>\n      <member>h</member>\n   </members>\n</r>\n",
		},
		{
			name: "an empty one-line parent gets the child on its own line",
			src:  "<r>\n  <p></p>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/p/c", Value: "1"}},
			want: "<r>\n  <p>\n    <c>1</c>\n  </p>\n</r>\n",
		},
		{
			name: "the end tag on the last child's line stays there",
			src:  "<r>\n  <a>1</a></r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/b", Value: "2"}},
			want: "<r>\n  <a>1</a>\n  <b>2</b>\n</r>\n",
		},
		{
			name: "trailing blanks and a trailing comment on the anchor line stay untouched",
			src:  "<r>\n  <a>1</a>  \n  <a>2</a> <!-- two -->\n  <z/>\n</r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a[3]", Value: "3"}},
			want: "<r>\n  <a>1</a>  \n  <a>2</a> <!-- two -->\n  <a>3</a>\n  <z/>\n</r>",
		},
		{
			name: "new lines use CRLF in a CRLF file",
			src:  crlf("<r>\n  <a>1</a>\n</r>\n"),
			ops:  []Op{{Kind: SetText, Path: "/r/b/c", Value: "2"}},
			want: crlf("<r>\n  <a>1</a>\n  <b>\n    <c>2</c>\n  </b>\n</r>\n"),
		},
		{
			name: "a value with a line break gets the file's line ending",
			src:  crlf("<r>\n  <a>1</a>\n</r>\n"),
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "x\ny"}},
			want: crlf("<r>\n  <a>x\ny</a>\n</r>\n"),
		},
		{
			name: "missing final newline, declaration and U+00A0 are kept",
			src:  "<?xml version='1.0' encoding='utf-8'?>\n<r>\n  <a>1</a><!--\u00a0-->\u00a0\n</r>",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "2"}},
			want: "<?xml version='1.0' encoding='utf-8'?>\n<r>\n  <a>2</a><!--\u00a0-->\u00a0\n</r>",
		},

		// namespaces
		{
			name: "default namespace is ignored for matching",
			src:  "<Server xmlns=\"http://example.org/carbon\">\n  <Ports>\n    <Offset>0</Offset>\n  </Ports>\n</Server>\n",
			ops:  []Op{{Kind: SetText, Path: "/Server/Ports/Offset", Value: "1"}},
			want: "<Server xmlns=\"http://example.org/carbon\">\n  <Ports>\n    <Offset>1</Offset>\n  </Ports>\n</Server>\n",
		},
		{
			name: "prefixes are ignored for matching, with or without them in the path",
			src:  "<t:A xmlns:t=\"urn:t\">\n  <t:B>1</t:B>\n  <t:C>1</t:C>\n</t:A>\n",
			ops: []Op{
				{Kind: SetText, Path: "/t:A/t:B", Value: "2"},
				{Kind: SetText, Path: "/A/C", Value: "3"},
			},
			want: "<t:A xmlns:t=\"urn:t\">\n  <t:B>2</t:B>\n  <t:C>3</t:C>\n</t:A>\n",
		},
		{
			name: "new elements under a prefixed parent take its prefix",
			src:  "<t:A xmlns:t=\"urn:t\">\n  <t:B>1</t:B>\n</t:A>\n",
			ops: []Op{
				{Kind: SetText, Path: "/A/NodeId", Value: "n1"},
				{Kind: Ensure, Path: "/A/Lock", Value: "<Lock><Mode>x</Mode></Lock>"},
			},
			want: "<t:A xmlns:t=\"urn:t\">\n  <t:B>1</t:B>\n  <t:NodeId>n1</t:NodeId>\n  <t:Lock>\n    <t:Mode>x</t:Mode>\n  </t:Lock>\n</t:A>\n",
		},

		// SetAttr
		{
			name: "set attr replaces the value and keeps the quote style",
			src:  "<r>\n  <a x='1' y=\"2\"/>\n</r>",
			ops: []Op{
				{Kind: SetAttr, Path: "/r/a", Attr: "x", Value: `it's "q" & <`},
				{Kind: SetAttr, Path: "/r/a", Attr: "y", Value: `it's "q"`},
			},
			want: "<r>\n  <a x='it&apos;s \"q\" &amp; &lt;' y=\"it's &quot;q&quot;\"/>\n</r>",
		},
		{
			name: "set attr on a start tag spanning lines",
			src:  "<r>\n    <clustering class=\"org.example.Agent\"\n                enable=\"false\">\n    </clustering>\n</r>\n",
			ops:  []Op{{Kind: SetAttr, Path: "/r/clustering", Attr: "enable", Value: "true"}},
			want: "<r>\n    <clustering class=\"org.example.Agent\"\n                enable=\"true\">\n    </clustering>\n</r>\n",
		},
		{
			name: "set attr appends a missing attribute after the last one, in its quote style",
			src:  "<r>\n  <C port='9763'\n     URIEncoding='UTF-8'/>\n  <D a=\"1\" >x</D>\n</r>",
			ops: []Op{
				{Kind: SetAttr, Path: "/r/C[@port='9763']", Attr: "proxyPort", Value: "80"},
				{Kind: SetAttr, Path: "/r/D", Attr: "b", Value: "2"},
			},
			want: "<r>\n  <C port='9763'\n     URIEncoding='UTF-8' proxyPort='80'/>\n  <D a=\"1\" b=\"2\" >x</D>\n</r>",
		},
		{
			name: "set attr on a tag without attributes",
			src:  "<r><a/><b>x</b></r>",
			ops: []Op{
				{Kind: SetAttr, Path: "/r/a", Attr: "k", Value: "1"},
				{Kind: SetAttr, Path: "/r/b", Attr: "k", Value: "2"},
			},
			want: "<r><a k=\"1\"/><b k=\"2\">x</b></r>",
		},
		{
			name: "set attr equal value is a no-op",
			src:  "<r><a k='v'/></r>",
			ops:  []Op{{Kind: SetAttr, Path: "/r/a", Attr: "k", Value: "v"}},
		},
		{
			name: "set attr creates the element",
			src:  "<r>\n  <a/>\n</r>\n",
			ops:  []Op{{Kind: SetAttr, Path: "/r/g[@name='x']", Attr: "enable", Value: "true"}},
			want: "<r>\n  <a/>\n  <g name=\"x\" enable=\"true\"/>\n</r>\n",
		},

		// Ensure
		{
			name: "ensure does nothing when the path matches, whatever the contents",
			src:  "<r>\n  <d name=\"x\"><u>1</u></d>\n</r>",
			ops:  []Op{{Kind: Ensure, Path: "/r/d[@name='x']", Value: `<d name="x"><u>2</u></d>`}},
		},
		{
			name: "ensure renders the fragment one element per line",
			src:  "<r>\n    <d name=\"x\">\n        <u>1</u>\n    </d>\n</r>\n",
			ops: []Op{{Kind: Ensure, Path: "/r/d[@name='y']", Value: `
				<d name='y' q='say "hi"'>   <u>jdbc:h2:x;A=B</u>
				<!-- c --><e/><f></f></d>`}},
			want: "<r>\n    <d name=\"x\">\n        <u>1</u>\n    </d>\n    <d name=\"y\" q=\"say &quot;hi&quot;\">\n        <u>jdbc:h2:x;A=B</u>\n        <!-- c -->\n        <e/>\n        <f></f>\n    </d>\n</r>\n",
		},
		{
			name: "ensure creates the missing parent",
			src:  "<r>\n  <a/>\n</r>\n",
			ops:  []Op{{Kind: Ensure, Path: "/r/p[@name='props']/q[@n='s']", Value: `<q n="s" v="w"/>`}},
			want: "<r>\n  <a/>\n  <p name=\"props\">\n    <q n=\"s\" v=\"w\"/>\n  </p>\n</r>\n",
		},

		// SetInner
		{
			name: "set inner replaces the children",
			src:  crlf("<r>\n        <members>\n            <member>\n                <hostName>127.0.0.1</hostName>\n            </member>\n        </members>\n</r>\n"),
			ops:  []Op{{Kind: SetInner, Path: "/r/members", Value: "<member><hostName>a</hostName><port>1</port></member><member><hostName>b</hostName><port>2</port></member>"}},
			want: crlf("<r>\n        <members>\n            <member>\n                <hostName>a</hostName>\n                <port>1</port>\n            </member>\n            <member>\n                <hostName>b</hostName>\n                <port>2</port>\n            </member>\n        </members>\n</r>\n"),
		},
		{
			name: "set inner with equal children is a no-op, whatever the layout and comments",
			src:  "<r><m><!-- x --><a k=\"1\" j='2'>  t </a>\n<b/></m></r>",
			ops:  []Op{{Kind: SetInner, Path: "/r/m", Value: "<a j=\"2\" k='1'>t</a><b></b>"}},
		},
		{
			name: "set inner with no elements empties the element",
			src:  "<r>\n  <m>\n    <a/>\n  </m>\n</r>",
			ops:  []Op{{Kind: SetInner, Path: "/r/m", Value: "  "}},
			want: "<r>\n  <m>\n  </m>\n</r>",
		},
		{
			name: "set inner expands a self-closing element",
			src:  "<r>\n  <m/>\n</r>",
			ops:  []Op{{Kind: SetInner, Path: "/r/m", Value: "<a/>"}},
			want: "<r>\n  <m>\n    <a/>\n  </m>\n</r>",
		},
		{
			name: "set inner creates the element when missing",
			src:  "<r>\n  <x/>\n</r>",
			ops:  []Op{{Kind: SetInner, Path: "/r/m", Value: "<a>1</a>"}},
			want: "<r>\n  <x/>\n  <m>\n    <a>1</a>\n  </m>\n</r>",
		},

		// Remove
		{
			name: "remove takes the whole line when the element stands alone",
			src:  crlf("<r>\n  <a>1</a>\n  <b>\n    <c/>\n  </b>  \n  <d/>\n</r>\n"),
			ops: []Op{
				{Kind: Remove, Path: "/r/a"},
				{Kind: Remove, Path: "/r/b"},
			},
			want: crlf("<r>\n  <d/>\n</r>\n"),
		},
		{
			name: "remove keeps the line when it holds other content",
			src:  "<r>\n  <a/><b/> <!-- note -->\n</r>",
			ops: []Op{
				{Kind: Remove, Path: "/r/a"},
				{Kind: Remove, Path: "/r/b"},
			},
			want: "<r>\n   <!-- note -->\n</r>",
		},
		{
			name: "remove of an absent element is a no-op",
			src:  "<r><a/></r>",
			ops:  []Op{{Kind: Remove, Path: "/r/b"}},
		},

		// comments are opaque
		{
			name: "look-alikes in fused and multi-line comments are never matched",
			src: "<r>\n" +
				"    <!--HostName>www.example.org</HostName-->\n" +
				"    <!--p name=\"subDomain\" value=\"worker\"/-->\n" +
				"    <!--\n    <p name=\"bind\">127.0.0.1</p>\n    -->\n" +
				"    <p name=\"host\">127.0.0.1</p>\n" +
				"</r>\n",
			ops: []Op{
				{Kind: SetText, Path: "/r/p[@name='bind']", Value: "10.0.0.1"},
				{Kind: SetAttr, Path: "/r/p[@name='subDomain']", Attr: "value", Value: "mgt"},
				{Kind: Remove, Path: "/r/HostName"},
			},
			want: "<r>\n" +
				"    <!--HostName>www.example.org</HostName-->\n" +
				"    <!--p name=\"subDomain\" value=\"worker\"/-->\n" +
				"    <!--\n    <p name=\"bind\">127.0.0.1</p>\n    -->\n" +
				"    <p name=\"host\">127.0.0.1</p>\n" +
				"    <p name=\"bind\">10.0.0.1</p>\n" +
				"    <p name=\"subDomain\" value=\"mgt\"/>\n" +
				"</r>\n",
		},
		{
			name: "insertion before the root end tag of a file without final newline",
			src:  "<r>\n\t<a/>\n</r>",
			ops:  []Op{{Kind: SetText, Path: "/r/b", Value: "1"}},
			want: "<r>\n\t<a/>\n\t<b>1</b>\n</r>",
		},
		{
			name: "a byte order mark is kept",
			src:  "\ufeff<r>\n  <a/>\n</r>\n",
			ops:  []Op{{Kind: SetAttr, Path: "/r/a", Attr: "k", Value: "v"}},
			want: "\ufeff<r>\n  <a k=\"v\"/>\n</r>\n",
		},
		{
			name: "a prefix declared in the fragment or on an ancestor is fine",
			src:  "<c xmlns:s=\"urn:s\">\n  <d/>\n</c>\n",
			ops: []Op{
				{Kind: Ensure, Path: "/c/p", Value: `<p s:alias="x"/>`},
				{Kind: Ensure, Path: "/c/q", Value: `<q xmlns:v="urn:v" v:alias="y"/>`},
				{Kind: SetAttr, Path: "/c/d", Attr: "s:alias", Value: "z"},
			},
			want: "<c xmlns:s=\"urn:s\">\n  <d s:alias=\"z\"/>\n  <p s:alias=\"x\"/>\n  <q xmlns:v=\"urn:v\" v:alias=\"y\"/>\n</c>\n",
		},
		{
			name: "non-ASCII values become character references in an ISO-8859-1 file",
			src:  "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<r>\n  <a k='x'/>\n</r>\n",
			ops: []Op{
				{Kind: SetText, Path: "/r/a", Value: "café"},
				{Kind: SetAttr, Path: "/r/a", Attr: "k", Value: "né"},
				{Kind: Ensure, Path: "/r/b", Value: "<b t=\"ü\">ß</b>"},
			},
			want: "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<r>\n  <a k='n&#xE9;'>caf&#xE9;</a>\n  <b t=\"&#xFC;\">&#xDF;</b>\n</r>\n",
		},
		{
			name: "non-ASCII values are written as UTF-8 in a UTF-8 file",
			src:  "<?xml version='1.0' encoding='utf-8'?>\n<r>\n  <a/>\n</r>\n",
			ops:  []Op{{Kind: SetText, Path: "/r/a", Value: "café"}},
			want: "<?xml version='1.0' encoding='utf-8'?>\n<r>\n  <a>café</a>\n</r>\n",
		},
		{
			name: "a fragment written with CRLF gets the file's LF",
			src:  "<r>\n  <a/>\n</r>\n",
			ops:  []Op{{Kind: Ensure, Path: "/r/b", Value: "<b>\r\n<!-- two\r\nlines -->\r\n<c/></b>"}},
			want: "<r>\n  <a/>\n  <b>\n    <!-- two\nlines -->\n    <c/>\n  </b>\n</r>\n",
		},
		{
			name: "several ops on one document, applied in order",
			src:  "<r>\n  <a>1</a>\n</r>\n",
			ops: []Op{
				{Kind: SetText, Path: "/r/a", Value: "2"},
				{Kind: SetText, Path: "/r/a", Value: "1"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed := patchChecked(t, []byte(tt.src), tt.ops)
			want := tt.want
			if want == "" {
				want = tt.src
			}
			if string(out) != want {
				t.Fatalf("got:\n%s\nwant:\n%s\n(got %q)", out, want, out)
			}
			if changed != (tt.want != "") {
				t.Fatalf("changed = %v", changed)
			}
		})
	}
}

func TestPatchErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		op   Op
		want string // exact error text
	}{
		{
			name: "ambiguous path",
			src:  "<a>\n<b>1</b>\n<!-- <b>0</b> -->\n<b>2</b>\n</a>",
			op:   Op{Kind: SetText, Path: "/a/b", Value: "x"},
			want: "set /a/b: 2 elements match (lines 2, 4); add a predicate",
		},
		{
			name: "set text on an element with children",
			src:  "<a>\n  <b>\n    <c/>\n  </b>\n</a>",
			op:   Op{Kind: SetText, Path: "/a/b", Value: "x"},
			want: "set /a/b: element <b> (line 2) has child elements (<c> on line 3); use inner to replace them",
		},
		{
			name: "ambiguous parent when creating",
			src:  "<a>\n<b/>\n<b/>\n</a>",
			op:   Op{Kind: SetText, Path: "/a/b/c", Value: "x"},
			want: "set /a/b/c: cannot create /a/b/c: 2 elements match /a/b (lines 2, 3); add a predicate",
		},
		{
			name: "wrong root",
			src:  "<a/>",
			op:   Op{Kind: SetText, Path: "/x/y", Value: "v"},
			want: "set /x/y: the root element is <a> (line 1), the path starts with /x",
		},
		{
			name: "attr that the path selects on",
			src:  "<a><b n='1'/></a>",
			op:   Op{Kind: SetAttr, Path: "/a/b[@n='1']", Attr: "n", Value: "2"},
			want: "attr /a/b[@n='1'] @n: the path selects on @n='1', so setting it to \"2\" would make the path miss the element next time; select the element another way",
		},
		{
			name: "ensure fragment with another name",
			src:  "<a/>",
			op:   Op{Kind: Ensure, Path: "/a/b", Value: "<c/>"},
			want: "ensure /a/b: the value's element <c> does not match the path's last step b",
		},
		{
			name: "ensure fragment that does not satisfy the predicates",
			src:  "<a/>",
			op:   Op{Kind: Ensure, Path: "/a/b[@n='1']", Value: "<b n='2'/>"},
			want: "ensure /a/b[@n='1']: after the edit the path matches 0 elements, so re-applying would not be a no-op; make the value agree with the path's predicates",
		},
		{
			name: "ensure with two elements",
			src:  "<a/>",
			op:   Op{Kind: Ensure, Path: "/a/b", Value: "<b/><b/>"},
			want: "ensure /a/b: value must hold exactly one element, found 2 elements and 0 comments",
		},
		{
			name: "malformed fragment",
			src:  "<a/>",
			op:   Op{Kind: SetInner, Path: "/a", Value: "<b>\n<c></b>"},
			want: "inner /a: value is not a well-formed XML fragment: line 2: end tag </b> does not match start tag <c> (line 2)",
		},
		{
			name: "positional remove is not idempotent",
			src:  "<a><b/><b/></a>",
			op:   Op{Kind: Remove, Path: "/a/b[1]"},
			want: "remove /a/b[1]: after removal the path still matches an element (line 1), so re-applying would remove another one; select the element without a position",
		},
		{
			name: "remove the root",
			src:  "<a/>",
			op:   Op{Kind: Remove, Path: "/a"},
			want: "remove /a: cannot remove the root element",
		},
		{
			name: "creating at a position that would not be reached",
			src:  "<a><b/></a>",
			op:   Op{Kind: SetText, Path: "/a/b[3]", Value: "x"},
			want: "set /a/b[3]: cannot create b[3]: there are 1 matching siblings, so a new one would be number 2",
		},
		{
			name: "attr on a non-attr op",
			src:  "<a/>",
			op:   Op{Kind: Remove, Path: "/a/b", Attr: "x"},
			want: `remove /a/b: Attr "x" is only used by attr ops; remove deletes whole elements, attributes cannot be removed`,
		},
		{
			name: "control character",
			src:  "<a/>",
			op:   Op{Kind: SetText, Path: "/a", Value: "x\x01"},
			want: "set /a: value contains control character 0x01, which XML 1.0 cannot represent",
		},
		{
			name: "bad path",
			src:  "<a/>",
			op:   Op{Kind: SetText, Path: "a/b", Value: "x"},
			want: `set a/b: path "a/b" must start with '/'`,
		},
		{
			name: "undeclared prefix in an inserted fragment",
			src:  "<c>\n  <ds/>\n</c>",
			op:   Op{Kind: Ensure, Path: "/c/ds/d", Value: `<d><password svns:secretAlias="A"/></d>`},
			want: `ensure /c/ds/d: the new element <d> uses the namespace prefix "svns", which is not declared here; declare xmlns:svns in the value or on an ancestor`,
		},
		{
			name: "undeclared prefix in a new attribute",
			src:  "<c>\n  <p/>\n</c>",
			op:   Op{Kind: SetAttr, Path: "/c/p", Attr: "svns:secretAlias", Value: "A"},
			want: `attr /c/p @svns:secretAlias: the namespace prefix "svns" of attribute svns:secretAlias is not declared on <p> (line 2) or its ancestors`,
		},
		{
			name: "malformed input",
			src:  "<a>\n  <b>\n  </c>\n</a>",
			op:   Op{Kind: SetText, Path: "/a/b", Value: "x"},
			want: "input is not well-formed XML: line 3: end tag </c> does not match start tag <b> (line 2)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := Patch([]byte(tt.src), []Op{tt.op})
			if err == nil {
				t.Fatalf("no error; changed=%v out=\n%s", changed, out)
			}
			if err.Error() != tt.want {
				t.Fatalf("error:\n got: %s\nwant: %s", err, tt.want)
			}
			if out != nil || changed {
				t.Fatalf("an error must come with no output")
			}
		})
	}
}

func TestOpErrorDetails(t *testing.T) {
	_, _, err := Patch([]byte("<a><b/><b/></a>"), []Op{
		{Kind: SetText, Path: "/a/c", Value: "1"},
		{Kind: SetText, Path: "/a/b", Value: "1"},
	})
	var oe *OpError
	if !errors.As(err, &oe) || oe.Index != 1 || oe.Op.Path != "/a/b" {
		t.Fatalf("want *OpError for op 1, got %#v", err)
	}
	if !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("want errors.Is(err, ErrAmbiguous)")
	}
}

func TestPatchNoOpsReturnsInput(t *testing.T) {
	src := []byte("<?xml version='1.0'?>\r\n<a>\r\n</a>")
	out, changed, err := Patch(src, nil)
	if err != nil || changed || string(out) != string(src) {
		t.Fatalf("Patch(nil ops) = %q, %v, %v", out, changed, err)
	}
}

func TestParseKind(t *testing.T) {
	for _, k := range []Kind{SetText, SetAttr, Ensure, SetInner, Remove} {
		got, err := ParseKind(k.String())
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", k.String(), got, err)
		}
	}
	if _, err := ParseKind("replace"); err == nil || !strings.Contains(err.Error(), "set, attr, ensure, inner, remove") {
		t.Errorf("ParseKind(replace) error = %v", err)
	}
}
