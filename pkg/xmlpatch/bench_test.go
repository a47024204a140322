package xmlpatch

import (
	"bytes"
	"fmt"
	"testing"
)

// axis2Large inflates the handwritten axis2.xml fixture to about 800 lines
// by adding phase blocks before the clustering section.
func axis2Large(tb testing.TB) []byte {
	src := readFixture(tb, "axis2.xml")
	var filler bytes.Buffer
	for i := 0; bytes.Count(src, []byte("\n"))+bytes.Count(filler.Bytes(), []byte("\n")) < 800; i++ {
		fmt.Fprintf(&filler, "    <!-- filler block %d: phases of flow %d -->\r\n", i, i)
		fmt.Fprintf(&filler, "    <phaseOrder type=\"Flow%d\">\r\n", i)
		for j := 0; j < 6; j++ {
			fmt.Fprintf(&filler, "        <phase name=\"P%d\">\r\n            <handler name=\"H%d\" class=\"org.example.H\"/>\r\n        </phase>\r\n", j, j)
		}
		filler.WriteString("    </phaseOrder>\r\n\r\n")
	}
	at := bytes.Index(src, []byte("    <clustering"))
	return append(append(append([]byte{}, src[:at]...), filler.Bytes()...), src[at:]...)
}

// benchOps are 15 edits of a typical clustering set-up.
func benchOps() []Op {
	const c = "/axisconfig/clustering"
	return append(axis2Ops(),
		Op{Kind: SetText, Path: c + "/parameter[@name='mcastPort']", Value: "45565"},
		Op{Kind: SetText, Path: c + "/parameter[@name='localMemberBindAddress']", Value: "10.0.0.21"},
		Op{Kind: SetText, Path: "/axisconfig/parameter[@name='hotdeployment']", Value: "false"},
		Op{Kind: SetText, Path: "/axisconfig/parameter[@name='hotupdate']", Value: "false"},
		Op{Kind: SetText, Path: "/axisconfig/transportReceiver[@name='http']/parameter[@name='proxyPort']", Value: "80"},
		Op{Kind: SetText, Path: "/axisconfig/transportReceiver[@name='https']/parameter[@name='proxyPort']", Value: "443"},
		Op{Kind: SetAttr, Path: c + "/groupManagement", Attr: "enable", Value: "true"},
	)
}

func TestBenchmarkInputIsRealistic(t *testing.T) {
	src := axis2Large(t)
	if n := bytes.Count(src, []byte("\n")); n < 800 {
		t.Fatalf("%d lines", n)
	}
	if ops := benchOps(); len(ops) != 15 {
		t.Fatalf("%d ops", len(ops))
	}
	patchChecked(t, src, benchOps())
}

func BenchmarkPatchAxis2(b *testing.B) {
	src := axis2Large(b)
	ops := benchOps()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, _, err := Patch(src, ops); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseAxis2(b *testing.B) {
	src := axis2Large(b)
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		if _, err := parseDocument(src); err != nil {
			b.Fatal(err)
		}
	}
}
