package xmlpatch

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// stdParse checks b with encoding/xml (strict mode). Declared charsets are
// passed through untouched: the files we patch are ASCII or UTF-8.
func stdParse(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	depth := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if depth != 0 {
				return fmt.Errorf("unexpected EOF at depth %d", depth)
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// eolMix returns the numbers of CRLF and bare LF line endings in b.
func eolMix(b []byte) (crlf, lf int) {
	crlf = bytes.Count(b, []byte("\r\n"))
	return crlf, bytes.Count(b, []byte("\n")) - crlf
}

// patchChecked applies ops, then checks the invariants every successful
// patch must keep: well-formed output, no newly mixed line endings, and a
// second application that changes nothing.
func patchChecked(t *testing.T, src []byte, ops []Op) ([]byte, bool) {
	t.Helper()
	out, changed, err := Patch(src, ops)
	if err != nil {
		t.Fatalf("Patch: %v", err)
	}
	if changed == bytes.Equal(out, src) {
		t.Fatalf("changed=%v but output equal to input: %v", changed, bytes.Equal(out, src))
	}
	if err := stdParse(out); err != nil {
		t.Fatalf("encoding/xml rejects the output: %v\n%s", err, out)
	}
	if c0, l0 := eolMix(src); c0 == 0 || l0 == 0 {
		if c, l := eolMix(out); c > 0 && l > 0 {
			t.Fatalf("output mixes line endings (%d CRLF, %d LF)\n%q", c, l, out)
		}
	}
	again, changed2, err := Patch(out, ops)
	if err != nil {
		t.Fatalf("second Patch: %v", err)
	}
	if changed2 || !bytes.Equal(again, out) {
		t.Fatalf("second Patch is not a no-op:\nfirst:\n%s\nsecond:\n%s", out, again)
	}
	return out, changed
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// stdWalk decodes b with encoding/xml and reports start elements, character
// data and end elements to f (comments are skipped by construction).
func stdWalk(b []byte, f func(start *stdNode, text string, end bool)) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = true
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			n := &stdNode{local: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			f(n, "", false)
		case xml.CharData:
			f(nil, string(tok), false)
		case xml.EndElement:
			f(nil, "", true)
		}
	}
}
