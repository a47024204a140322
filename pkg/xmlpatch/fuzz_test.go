package xmlpatch

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPatch checks two properties on arbitrary input: Patch without ops
// returns the input unchanged, and SetText on an existing leaf element
// changes no byte outside that element and reads back.
func FuzzPatch(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	for _, name := range fixtures {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(3), "198.18.0.21")
	}
	f.Add([]byte("<a><b/></a>"), uint8(0), "x<&>y")
	f.Add([]byte("<a>\r\n <b>t</b>\r\n</a>"), uint8(1), "line1\nline2")
	f.Add([]byte("<?xml version='1.0'?><!--<b>--><a><![CDATA[x]]><b x='1'>&amp;</b></a>"), uint8(0), " spaced ")
	f.Fuzz(func(t *testing.T, src []byte, pick uint8, value string) {
		out, changed, err := Patch(src, nil)
		if err != nil {
			return // malformed input is rejected, which is fine
		}
		if changed || !bytes.Equal(out, src) {
			t.Fatalf("Patch without ops changed the input")
		}
		doc, err := parseDocument(src)
		if err != nil {
			t.Fatalf("Patch accepted what parseDocument rejects: %v", err)
		}
		leaves := leafElements(doc.root, nil)
		el := leaves[int(pick)%len(leaves)]
		checkSetText(t, doc, el, value)
	})
}

// checkSetText sets the text of el through a unique path and checks what
// changed.
func checkSetText(t *testing.T, doc *document, el *element, value string) {
	src := doc.src
	path := uniquePath(el)
	out, _, err := Patch(src, []Op{{Kind: SetText, Path: path, Value: value}})
	if err != nil {
		if checkValue(value) != nil {
			return
		}
		t.Fatalf("SetText %s: %v", path, err)
	}
	if !bytes.HasPrefix(out, src[:el.start]) || !bytes.HasSuffix(out, src[el.end:]) {
		t.Fatalf("SetText %s changed bytes outside the element:\n%q\n%q", path, src, out)
	}
	got, ok, err := Get(out, path)
	if err != nil || !ok || got != trim(value) {
		t.Fatalf("Get %s = %q, %v, %v; want %q", path, got, ok, err, trim(value))
	}
	if xmlChars(value) && stdParse(src) == nil {
		if err := stdParse(out); err != nil {
			t.Fatalf("encoding/xml rejects the result: %v\n%q", err, out)
		}
	}
}

// leafElements lists the elements without element children, in order.
func leafElements(e *element, acc []*element) []*element {
	kids := e.childElems()
	if len(kids) == 0 {
		return append(acc, e)
	}
	for _, k := range kids {
		acc = leafElements(k, acc)
	}
	return acc
}

// uniquePath addresses e by names and positions.
func uniquePath(e *element) string {
	var steps []string
	for ; e.parent != nil; e = e.parent {
		n := 0
		for _, s := range e.parent.childElems() {
			if s.local == e.local {
				n++
			}
			if s == e {
				break
			}
		}
		steps = append(steps, fmt.Sprintf("%s[%d]", e.name, n))
	}
	steps = append(steps, e.name)
	for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
		steps[i], steps[j] = steps[j], steps[i]
	}
	return "/" + strings.Join(steps, "/")
}

// xmlChars reports whether s is valid UTF-8 holding only XML 1.0 characters.
func xmlChars(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !(r == 0x09 || r == 0x0A || r == 0x0D || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF) {
			return false
		}
	}
	return true
}

// TestSetTextEveryLeaf runs the fuzz property on every leaf element of the
// fixtures and of the stock corpus (when present).
func TestSetTextEveryLeaf(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.xml"))
	dir := os.Getenv("CARBONCTL_WSO2_CONF")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "wso2-conf")
	}
	_ = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".xml") {
			files = append(files, p)
		}
		return nil
	})
	leaves := 0
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := parseDocument(src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, el := range leafElements(doc.root, nil) {
			if testing.Short() && i%10 != 0 {
				continue
			}
			checkSetText(t, doc, el, fmt.Sprintf("v%d & <é>", i))
			leaves++
		}
	}
	t.Logf("%d leaves in %d files", leaves, len(files))
}
