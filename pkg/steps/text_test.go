package steps

import (
	"context"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
)

func TestPatchText(t *testing.T) {
	prop := engine.Edit{Op: "property", Key: "hazelcast.logging.type", Value: "{{.Vars.logging}}"}
	heap := engine.Edit{Op: "replace", Pattern: `-Xmx[0-9]+m`, Value: "-Xmx{{.Vars.xmx}}"}
	cases := []struct {
		name     string
		content  *string // nil: the node lacks the file
		create   bool
		edits    []engine.Edit
		wantDesc string // the action; "" = nothing to do
		wantErr  string
		want     string // the file afterwards
	}{
		{"property set in place", textPtr("a=1\r\nhazelcast.logging.type=jdk\r\n"), false, []engine.Edit{prop},
			"patch /h/f (+1 -1)", "", "a=1\r\nhazelcast.logging.type=log4j\r\n"},
		{"already set", textPtr("hazelcast.logging.type=log4j"), false, []engine.Edit{prop}, "", "", "hazelcast.logging.type=log4j"},
		{"missing file refused", nil, false, []engine.Edit{prop}, "", "/h/f not found on 198.18.0.21", ""},
		{"missing file created", nil, true, []engine.Edit{prop}, "create /h/f (+1 -0)", "", "hazelcast.logging.type=log4j\n"},
		{"replace", textPtr("#!/bin/sh\njava -Xms256m -Xmx1024m\n"), false, []engine.Edit{heap}, "patch /h/f (+1 -1)", "", "#!/bin/sh\njava -Xms256m -Xmx2048m\n"},
		{"replace finds nothing", textPtr("#!/bin/sh\n# -Xmx1024m\n"), false, []engine.Edit{heap}, "", `/h/f: edit 1: pattern "-Xmx[0-9]+m" matches no line`, ""},
		{"edit skipped by when", textPtr("x=1\n"), false, []engine.Edit{{Op: "property", Key: "x", Value: "2", When: "{{false}}"}}, "", "", "x=1\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := engine.NewHost("198.18.0.21")
			if c.content != nil {
				h.Files["/h/f"] = &remote.File{Path: "/h/f", Exists: true, Content: []byte(*c.content), Mode: 0o644}
			} else {
				h.Files["/h/f"] = &remote.File{Path: "/h/f"}
			}
			v := engine.Vars{Node: engine.NodeVars{Name: "n1", Home: "/h"}, Vars: map[string]any{"logging": "log4j", "xmx": "2048m"}}
			n := &engine.Node{Vars: v, Host: h, Managed: map[string]bool{}}
			e := &engine.Engine{PB: &playbook.Playbook{Name: "p"}}
			s := playbook.Step{Name: "f", Type: "text"}
			f := &engine.FileEdits{File: "f", Create: c.create, Edits: c.edits}
			for round := 1; round <= 2; round++ {
				res := &engine.Result{}
				err := patchText(context.Background(), e, s, f, n, res)
				if c.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), c.wantErr) {
						t.Fatalf("err = %v, want %q", err, c.wantErr)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				desc := ""
				if len(res.Actions) > 0 {
					desc = res.Actions[0].Desc
				}
				if round == 1 && desc != c.wantDesc || round == 2 && desc != "" {
					t.Errorf("round %d: action %q, want %q", round, desc, map[int]string{1: c.wantDesc}[round])
				}
			}
			if got := string(h.Files["/h/f"].Content); got != c.want {
				t.Errorf("file = %q, want %q", got, c.want)
			}
			if !n.Managed["/h/f"] {
				t.Errorf("the file is not part of the start fingerprint")
			}
		})
	}
}

func textPtr(s string) *string { return &s }
