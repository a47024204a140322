package textdiff

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func lines(n int, f func(i int) string) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.WriteString(f(i))
		sb.WriteString("\n")
	}
	return sb.String()
}

func TestUnified(t *testing.T) {
	twenty := lines(20, func(i int) string { return fmt.Sprintf("l%d", i) })
	twentyB := strings.Replace(strings.Replace(twenty, "l5\n", "l5 changed\n", 1), "l16\n", "new\nl16\n", 1)
	twentyB = strings.TrimSuffix(twentyB, "l20\n")
	tests := []struct {
		name string
		a, b string
		want string // expected output after the two header lines; "" for no diff
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"both empty", "", "", ""},
		{"two hunks, the second with an insertion and a deletion at the end", twenty, twentyB, `@@ -2,7 +2,7 @@
 l2
 l3
 l4
-l5
+l5 changed
 l6
 l7
 l8
@@ -13,8 +13,8 @@
 l13
 l14
 l15
+new
 l16
 l17
 l18
 l19
-l20
`},
		{"close changes share a hunk", "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n", "a\nB\nc\nd\ne\nf\ng\nH\ni\nj\n", `@@ -1,10 +1,10 @@
 a
-b
+B
 c
 d
 e
 f
 g
-h
+H
 i
 j
`},
		{"missing final newline added", "x\ny\nz", "x\ny\nz\n", `@@ -1,3 +1,3 @@
 x
 y
-z
\ No newline at end of file
+z
`},
		{"missing final newline removed", "x\ny\n", "x\ny", `@@ -1,2 +1,2 @@
 x
-y
+y
\ No newline at end of file
`},
		{"CRLF to LF is a change", "one\r\ntwo\r\nthree\r\n", "one\r\ntwo\nthree\r\n", `@@ -1,3 +1,3 @@
 one
-two
+two
 three
`},
		{"from empty", "", "p\nq\n", `@@ -0,0 +1,2 @@
+p
+q
`},
		{"to empty", "p\nq\n", "", `@@ -1,2 +0,0 @@
-p
-q
`},
		{"an inserted element reads as one block",
			"<r>\n    <dbConfig name=\"a\">\n        <dataSource>x</dataSource>\n    </dbConfig>\n    \n   <!--<handler>-->\n</r>\n",
			"<r>\n    <dbConfig name=\"a\">\n        <dataSource>x</dataSource>\n    </dbConfig>\n    <dbConfig name=\"b\">\n        <dataSource>y</dataSource>\n    </dbConfig>\n    \n   <!--<handler>-->\n</r>\n",
			`@@ -2,6 +2,9 @@
     <dbConfig name="a">
         <dataSource>x</dataSource>
     </dbConfig>
+    <dbConfig name="b">
+        <dataSource>y</dataSource>
+    </dbConfig>
     
    <!--<handler>-->
 </r>
`},
		{"single line ranges", "a\n", "b\n", `@@ -1 +1 @@
-a
+b
`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unified("conf/x.xml", []byte(tt.a), []byte(tt.b))
			if tt.want == "" {
				if got != "" {
					t.Fatalf("want no diff, got\n%s", got)
				}
				return
			}
			want := "--- a/conf/x.xml\n+++ b/conf/x.xml\n" + tt.want
			if got != want {
				t.Fatalf("got\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestStat(t *testing.T) {
	tests := []struct {
		a, b           string
		added, removed int
	}{
		{"a\nb\n", "a\nb\n", 0, 0},
		{"a\nb\nc\n", "a\nc\n", 0, 1},
		{"a\n", "a\nb\nc\n", 2, 0},
		{"a\r\n", "a\n", 1, 1},
		{"", "x", 1, 0},
	}
	for _, tt := range tests {
		added, removed := Stat([]byte(tt.a), []byte(tt.b))
		if added != tt.added || removed != tt.removed {
			t.Errorf("Stat(%q, %q) = +%d -%d, want +%d -%d", tt.a, tt.b, added, removed, tt.added, tt.removed)
		}
	}
}

// lcsLen is the textbook dynamic-programming LCS length, for checking that
// the diff is minimal.
func lcsLen(a, b []string) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}

func TestScriptIsMinimalAndCorrect(t *testing.T) {
	r := rand.New(rand.NewSource(42))
	gen := func() []string {
		n := r.Intn(40)
		out := make([]string, n)
		for i := range out {
			out[i] = string(rune('a'+r.Intn(5))) + "\n"
		}
		return out
	}
	for iter := 0; iter < 2000; iter++ {
		a, b := gen(), gen()
		script := diffLines(a, b)
		var rebuiltA, rebuiltB []string
		equal := 0
		for _, e := range script {
			switch e.kind {
			case opEqual:
				if a[e.ai] != b[e.bi] {
					t.Fatalf("equal entry pairs different lines %q/%q", a[e.ai], b[e.bi])
				}
				rebuiltA, rebuiltB = append(rebuiltA, a[e.ai]), append(rebuiltB, b[e.bi])
				equal++
			case opDelete:
				rebuiltA = append(rebuiltA, a[e.ai])
			case opInsert:
				rebuiltB = append(rebuiltB, b[e.bi])
			}
		}
		if strings.Join(rebuiltA, "") != strings.Join(a, "") || strings.Join(rebuiltB, "") != strings.Join(b, "") {
			t.Fatalf("script does not rebuild the inputs:\na=%q\nb=%q", a, b)
		}
		if want := lcsLen(a, b); equal != want {
			t.Fatalf("script keeps %d lines, the LCS has %d:\na=%q\nb=%q", equal, want, a, b)
		}
	}
}

func TestLargeInputsAreFast(t *testing.T) {
	a := lines(1000, func(i int) string { return fmt.Sprintf("    <line n=\"%d\"/>", i) })
	b := lines(1000, func(i int) string {
		if i%97 == 0 {
			return fmt.Sprintf("    <changed n=\"%d\"/>", i)
		}
		return fmt.Sprintf("    <line n=\"%d\"/>", i)
	})
	c := lines(1200, func(i int) string { return fmt.Sprintf("completely different %d", i) })
	start := time.Now()
	if added, removed := Stat([]byte(a), []byte(b)); added != 10 || removed != 10 {
		t.Errorf("Stat = +%d -%d, want +10 -10", added, removed)
	}
	if added, removed := Stat([]byte(a), []byte(c)); added != 1200 || removed != 1000 {
		t.Errorf("Stat = +%d -%d, want +1200 -1000", added, removed)
	}
	if d := Unified("x", []byte(a), []byte(b)); strings.Count(d, "\n@@ ") != 10 {
		t.Errorf("want 10 hunks, got\n%s", d)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("diffing 1000-line files took %v", el)
	}
}

func BenchmarkUnified1000(b *testing.B) {
	x := lines(1000, func(i int) string { return fmt.Sprintf("line %d", i) })
	y := lines(1000, func(i int) string {
		if i%50 == 0 {
			return "edited"
		}
		return fmt.Sprintf("line %d", i)
	})
	for b.Loop() {
		Unified("x", []byte(x), []byte(y))
	}
}
