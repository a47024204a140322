package depsync

import (
	"context"
	"fmt"
	"strings"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// ScriptError is a sync script run that exited non-zero.
type ScriptError struct {
	Code int
	Out  string
}

// Error says how the script ended, with its last lines.
func (e *ScriptError) Error() string {
	return fmt.Sprintf("the sync script exited with status %d: %s", e.Code, remote.LastLines(strings.TrimSpace(e.Out), 5))
}

// RunScript runs the sync script as the product user on c, waiting for a
// run in progress to end; it returns what the script printed.
func RunScript(ctx context.Context, c remote.Host, user, script string) (string, error) {
	cmd := fmt.Sprintf("[ -x %[1]s ] || { echo 'no sync script %[1]s: run carbonctl up first' >&2; exit 3; }\nexec %[1]s --wait", remote.Quote(script))
	r, err := c.Run(ctx, user, cmd, nil)
	if err != nil {
		return "", err
	}
	out := string(r.Stdout) + string(r.Stderr)
	if r.ExitCode != 0 {
		return out, &ScriptError{Code: r.ExitCode, Out: out}
	}
	return out, nil
}
