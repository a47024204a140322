package engine

import (
	"os"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

func TestPlanEdit(t *testing.T) {
	file := func(mode os.FileMode) *remote.File { return &remote.File{Exists: true, Mode: mode} }
	none := &remote.File{}
	tests := []struct {
		name            string
		cur, backup     *remote.File
		changed, secret bool
		want            editWrite
	}{
		{"plain, unchanged", file(0o644), none, false, false, editWrite{}},
		{"plain, patched: mode kept", file(0o644), file(0o644), true, false, editWrite{verb: "patch"}},
		{"plain, created", none, none, true, false, editWrite{verb: "create", mode: 0o644}},
		{"secret, created", none, none, true, true, editWrite{verb: "create", mode: 0o600}},
		{"secret, patched, stock 0644", file(0o644), none, true, true, editWrite{verb: "patch", mode: 0o600, chmod: "the file"}},
		{"secret, content right, 0644 file and backup", file(0o644), file(0o644), false, true, editWrite{mode: 0o600, chmod: "the file and its backup"}},
		{"secret, content right, open backup only", file(0o600), file(0o640), false, true, editWrite{mode: 0o600, chmod: "its backup"}},
		{"secret, converged", file(0o600), file(0o600), false, true, editWrite{mode: 0o600}},
		{"secret, converged, backup narrower", file(0o600), file(0o400), false, true, editWrite{mode: 0o600}},
	}
	for _, tt := range tests {
		if got := planEdit(tt.cur, tt.backup, tt.changed, tt.secret); got != tt.want {
			t.Errorf("%s: planEdit = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
