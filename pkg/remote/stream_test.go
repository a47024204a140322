package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWatcher is an io.Writer that reports when a marker arrives.
type lineWatcher struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	marker string
	seen   chan struct{}
	once   sync.Once
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if strings.Contains(w.buf.String(), w.marker) {
		w.once.Do(func() { close(w.seen) })
	}
	return len(p), nil
}

func TestStream(t *testing.T) {
	env := needSSHD(t)
	c := env.dial(t, "root")
	var out, errOut bytes.Buffer
	code, err := c.Stream(context.Background(), "", "echo a; echo b >&2; exit 4", &out, &errOut)
	if err != nil || code != 4 || out.String() != "a\n" || errOut.String() != "b\n" {
		t.Fatalf("Stream = %d %v, stdout %q, stderr %q", code, err, out.String(), errOut.String())
	}
}

// TestStreamDeliversEarlyAndCancelStops proves that output arrives while the
// command still runs, and that cancelling stops the remote command.
func TestStreamDeliversEarlyAndCancelStops(t *testing.T) {
	env := needSSHD(t)
	for _, login := range []string{"root", env.user} {
		t.Run(login, func(t *testing.T) {
			c := env.dial(t, login)
			pidFile := filepath.Join(env.dir, "stream-"+login+".pid")
			w := &lineWatcher{marker: "first\n", seen: make(chan struct{})}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				select {
				case <-w.seen:
				case <-time.After(20 * time.Second):
				}
				cancel()
			}()
			script := fmt.Sprintf("sleep 30 & echo $! > %s; echo first; wait", Quote(pidFile))
			began := time.Now()
			_, err := c.Stream(ctx, "root", script, w, nil)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			select {
			case <-w.seen:
			default:
				t.Fatalf("the first line did not arrive while the command ran")
			}
			if took := time.Since(began); took > 15*time.Second {
				t.Fatalf("Stream took %v", took)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(readFile(t, pidFile))))
			if err != nil {
				t.Fatal(err)
			}
			waitGone(t, pid, 2*time.Second)
		})
	}
}
