package remote

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// RunScript runs script on c (at addr) as user as, with stdin, and returns
// its stdout. A failure says what was being done (doing) and where, with
// the last lines of the command's stderr (else stdout).
func RunScript(ctx context.Context, c Host, addr, as, script string, stdin io.Reader, doing string) (string, error) {
	r, err := c.Run(ctx, as, script, stdin)
	if err != nil {
		return "", fmt.Errorf("%s on %s: %w", doing, addr, err)
	}
	if r.ExitCode != 0 {
		msg := strings.TrimSpace(string(r.Stderr))
		if msg == "" {
			msg = strings.TrimSpace(string(r.Stdout))
		}
		return "", fmt.Errorf("%s on %s failed (exit %d): %s", doing, addr, r.ExitCode, LastLines(msg, 5))
	}
	return string(r.Stdout), nil
}

// LastLines returns the last n lines of s.
func LastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
