package remotetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/carbonctl/carbonctl/pkg/remote"
)

// recorder is a testing that keeps the errors the fake reports.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestRunAnswersScriptedCommandsAndFailsOthers(t *testing.T) {
	rec := &recorder{}
	h := NewLinuxHost(rec, "10.0.0.1")
	h.SetLogin("admin")
	h.OnCommand(
		Command{As: "root", Contains: []string{"useradd", "wso2"}, Effect: func(h *Host, c Call) error {
			h.File("/home/wso2/.profile", "", 0o644, "wso2", "wso2")
			return nil
		}},
		Command{Contains: []string{"poll"}, Stdout: "not yet\n", Times: 1},
		Command{Contains: []string{"poll"}, Stdout: "started\n"},
		Command{As: AnyUser, Contains: []string{"tar -x"}, Exit: 2, Stderr: "tar: bad\n"},
	)
	ctx := context.Background()
	if _, err := h.Run(ctx, "root", "useradd --system wso2", nil); err != nil {
		t.Fatal(err)
	}
	if h.Lookup("/home/wso2/.profile") == nil {
		t.Error("the command's effect did not happen")
	}
	var outs []string
	for i := 0; i < 3; i++ {
		r, err := h.Run(ctx, "", "poll the log", nil)
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, string(r.Stdout))
	}
	if strings.Join(outs, "") != "not yet\nstarted\nstarted\n" {
		t.Errorf("Times: outputs %q", outs)
	}
	r, err := h.Run(ctx, "wso2", "tar -xf -", strings.NewReader("archive"))
	if err != nil || r.ExitCode != 2 || string(r.Stderr) != "tar: bad\n" {
		t.Errorf("tar: %+v, %v", r, err)
	}
	var out, errOut bytes.Buffer
	if code, err := h.Stream(ctx, "admin", "poll", &out, &errOut); err != nil || code != 0 || out.String() != "started\n" {
		t.Errorf("Stream: %d %v %q", code, err, out.String())
	}
	calls := h.Calls()
	if len(calls) != 6 || calls[1].As != "admin" || string(calls[4].Stdin) != "archive" || !calls[5].Stream {
		t.Errorf("calls: %+v", calls)
	}
	if len(rec.errs) != 0 {
		t.Fatalf("unexpected failures: %v", rec.errs)
	}
	if _, err := h.Run(ctx, "root", "rm -rf /", nil); err == nil || len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "rm -rf /") {
		t.Errorf("an unscripted command must fail the test: err %v, reported %v", err, rec.errs)
	}
}

func TestGatherProbesAndRoundTrips(t *testing.T) {
	rec := &recorder{}
	h := NewLinuxHost(rec, "10.0.0.1")
	h.File("/etc/passwd", "root:x:0:0::/root:/bin/sh\nadmin:x:1000:1000::/home/admin:/bin/sh\nwso2:x:999:999::/home/wso2:/bin/sh\n", 0o644, "root", "root")
	h.File("/etc/group", "root:x:0:\nadmin:x:1000:\nwso2:x:999:\n", 0o644, "root", "root")
	h.Dir("/opt/app", 0o750, "wso2", "wso2")
	h.File("/opt/app/secret.xml", "<pw>x</pw>\x00", 0o600, "wso2", "wso2")
	h.File("/etc/public", "", 0o644, "root", "root")
	h.Probe("java", "openjdk \x00version\n", 0)
	h.SetLogin("admin")
	ctx := context.Background()
	req := remote.GatherRequest{
		Contents: []string{"/etc/public", "/etc/none"},
		Probes:   map[string]string{"java": "java -version"},
		As:       map[string]remote.GatherRequest{"wso2": {Contents: []string{"/opt/app/secret.xml"}}},
	}
	facts, err := h.Gather(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if f := facts.Files["/etc/public"]; f.Content == nil || len(f.Content) != 0 || f.UID != 0 {
		t.Errorf("empty file: %+v", f)
	}
	if f := facts.Files["/opt/app/secret.xml"]; string(f.Content) != "<pw>x</pw>\x00" || f.UID != 999 || f.Owner != "wso2" || f.Mode != 0o600 {
		t.Errorf("file read as its owner: %+v", f)
	}
	if f := facts.Files["/etc/none"]; f.Exists {
		t.Errorf("missing file: %+v", f)
	}
	if p := facts.Probes["java"]; p.Stdout != "openjdk version\n" {
		t.Errorf("probe (NULs are lost): %+v", p)
	}
	if reads := h.Reads(); len(reads) != 1 || reads[0].RoundTrips != 1 {
		t.Errorf("one round trip expected: %+v", reads)
	}
	// The same private file read as the login user takes root's round trip.
	if _, err := h.Gather(ctx, remote.GatherRequest{Stats: []string{"/opt/app/secret.xml"}}); err != nil {
		t.Fatal(err)
	}
	if reads := h.Reads(); reads[1].RoundTrips != 2 {
		t.Errorf("root's second round trip expected: %+v", reads[1])
	}
	if _, err := h.Gather(ctx, remote.GatherRequest{Probes: map[string]string{"other": "uname"}}); err == nil || len(rec.errs) != 1 {
		t.Errorf("an unscripted probe must fail the test: %v, %v", err, rec.errs)
	}
	if _, err := h.Gather(ctx, remote.GatherRequest{Contents: []string{"relative"}}); err == nil || !strings.Contains(err.Error(), "must be absolute") {
		t.Errorf("relative path: %v", err)
	}
}

func TestWriteFileSemantics(t *testing.T) {
	h := NewLinuxHost(t, "10.0.0.1")
	h.File("/etc/passwd", "root:x:0:0::/root:/bin/sh\nwso2:x:999:999::/home/wso2:/bin/sh\n", 0o644, "root", "root")
	h.File("/etc/group", "root:x:0:\nwso2:x:999:\n", 0o644, "root", "root")
	h.Dir("/opt/wso2", 0o755, "wso2", "wso2")
	h.File("/opt/wso2/conf.xml", "old", 0o640, "wso2", "wso2")
	h.Symlink("/opt/wso2/link.xml", "/etc/passwd", "wso2")
	ctx := context.Background()
	tests := []struct {
		name, path, err string
		opts            remote.WriteOptions
		want            *Entry
	}{
		{"root below the product user's directory", "/opt/wso2/x", "/opt/wso2 is owned by uid 999, not root", remote.WriteOptions{}, nil},
		{"as the user, with a backup", "/opt/wso2/conf.xml", "", remote.WriteOptions{As: "wso2", Backup: true, Mode: 0o600},
			&Entry{Kind: Regular, Data: []byte("new"), Mode: 0o600, Owner: "wso2", Group: "wso2"}},
		{"as the user, parents made", "/opt/wso2/a/b/c.xml", "", remote.WriteOptions{As: "wso2", MkdirParents: true},
			&Entry{Kind: Regular, Data: []byte("new"), Mode: 0o644, Owner: "wso2", Group: "wso2"}},
		{"a symbolic link is refused", "/opt/wso2/link.xml", "is a symbolic link; refusing to replace it", remote.WriteOptions{As: "wso2"}, nil},
		{"root keeps the owner", "/etc/hosts", "", remote.WriteOptions{Backup: true},
			&Entry{Kind: Regular, Data: []byte("new"), Mode: 0o644, Owner: "root", Group: "root"}},
		{"missing directory", "/etc/nope/x", "directory /etc/nope does not exist", remote.WriteOptions{}, nil},
		{"as a user who may not write there", "/etc/x", "cannot create a temporary file next to /etc/x", remote.WriteOptions{As: "wso2"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := h.WriteFile(ctx, tt.path, []byte("new"), tt.opts)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Lookup(tt.path); fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
	if b := h.Lookup("/opt/wso2/conf.xml.carbonctl.orig"); b == nil || string(b.Data) != "old" || b.Mode != 0o600 {
		t.Errorf("backup kept, narrowed to 0600: %+v", b)
	}
	if len(h.Writes()) != 3 {
		t.Errorf("writes recorded: %+v", h.Writes())
	}
}

func TestNetworkDialAndConnectionState(t *testing.T) {
	n := NewNetwork(t)
	h := n.Add("10.0.0.1")
	ctx := context.Background()
	got, err := n.Dial(ctx, "10.0.0.1", remote.Config{User: "deploy"}, nil)
	if err != nil || got.User() != "deploy" {
		t.Fatalf("dial: %v %v", got, err)
	}
	if _, err := n.Dial(ctx, "10.0.0.9", remote.Config{}, nil); err == nil || !strings.Contains(err.Error(), "10.0.0.9:22") {
		t.Errorf("unknown host: %v", err)
	}
	n.Unreachable("10.0.0.1", errors.New("connection refused"))
	if _, err := n.Dial(ctx, "10.0.0.1", remote.Config{}, nil); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("unreachable host: %v", err)
	}
	if _, err := h.DialTCP(ctx, "10.0.0.5:3306"); err == nil || !strings.Contains(err.Error(), "no TCP handler") {
		t.Errorf("DialTCP without a handler: %v", err)
	}
	h.SetLost(errors.New("host stopped answering"))
	if _, err := h.Gather(ctx, remote.GatherRequest{}); err == nil || h.Lost() == nil {
		t.Errorf("a lost host must fail calls: %v", err)
	}
	h.SetLost(nil)
	h.Close()
	if err := h.WriteFile(ctx, "/tmp/x", nil, remote.WriteOptions{}); err == nil {
		t.Error("a closed host must fail calls")
	}
	if _, err := os.Stat("/tmp/x"); err == nil {
		t.Log("(a real /tmp/x exists; the fake never touches it)")
	}
}
