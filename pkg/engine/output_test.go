package engine

import (
	"strings"
	"testing"
)

func TestPrintableWriter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
	}{
		{"plain text, newlines and tabs kept", []string{"ok: [n1]\n\tdiff\n"}, "ok: [n1]\n\tdiff\n"},
		{"colour and clear-screen lose their ESC", []string{"\x1b[31mred\x1b[0m \x1b[2J"}, "[31mred[0m [2J"},
		{"window title (OSC, BEL)", []string{"\x1b]0;pwned\x07log"}, "]0;pwnedlog"},
		{"carriage return and backspace cannot hide text", []string{"ERROR\rok   \b\b\n"}, "ERRORok   \n"},
		{"C1 control (8-bit CSI)", []string{"a\u009b2Jb"}, "a2Jb"},
		{"invalid UTF-8", []string{"a\xffb"}, "a\ufffdb"},
		{"non-ASCII text kept", []string{"Überprüfung ✓\n"}, "Überprüfung ✓\n"},
		{"character split across writes", []string{"x\xe2\x9c", "\x93y"}, "x✓y"},
		{"DEL", []string{"a\x7fb"}, "ab"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			w := NewPrintableWriter(&b)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); err != nil || n != len(s) {
					t.Fatalf("Write = %d, %v", n, err)
				}
			}
			if b.String() != tt.want {
				t.Fatalf("got %q, want %q", b.String(), tt.want)
			}
		})
	}
}
