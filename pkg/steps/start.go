package steps

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/carbonctl/carbonctl/pkg/engine"

	"github.com/carbonctl/carbonctl/pkg/playbook"
	"github.com/carbonctl/carbonctl/pkg/remote"
	"github.com/carbonctl/carbonctl/pkg/systemd"
)

// Files carbonctl keeps in CARBON_HOME/.carbonctl to know what it started.
const (
	startedMarker = ".carbonctl/started"    // fingerprint of the configuration the running node was started with
	setupMarker   = ".carbonctl/setup-done" // the manager's -Dsetup start happened
)

// What the start step does with a node.
const (
	actNone    = "none"
	actStart   = "start"
	actRestart = "restart"
)

// startDecision is what the start step does with one node.
type startDecision struct {
	action string // actNone, actStart or actRestart
	setup  bool   // pass the playbook's setup argument
	reason string
}

// takesSetup reports whether n gets the playbook's setup argument on its
// first start: managers, when the product has one.
func takesSetup(e *engine.Engine, n *engine.Node) bool {
	return n.Vars.Node.IsManager && e.PB.Start.SetupArg != ""
}

// decideStart picks the action from the node's state: a running node whose
// configuration is the one it was started with is left alone.
func decideStart(running bool, startedWith, fingerprint string, takesSetup, setupDone bool) startDecision {
	d := startDecision{action: actNone}
	switch {
	case running && startedWith == fingerprint:
		return d
	case running && startedWith == "":
		d.action, d.reason = actRestart, "running, but not started by carbonctl with this configuration"
	case running:
		d.action, d.reason = actRestart, "configuration changed"
	default:
		d.action, d.reason = actStart, "not running"
	}
	if takesSetup && !setupDone {
		d.setup = true
		d.reason += "; first start, with the setup argument"
	}
	return d
}

// Start is the "start" step kind: the nodes run with their configuration,
// managers first, a changed running node restarting in a roll (rolling.go).
// It has no fields: how to start is the playbook's [start].
type Start struct{}

// Check has nothing to check.
func (*Start) Check() error { return nil }

// StartsNodes marks the kind that starts nodes (NodeStarter).
func (*Start) StartsNodes() {}

// Prefetch reads the node's markers and pid file, probes whether it runs
// and which peers it sees.
func (*Start) Prefetch(e *engine.Engine, _ playbook.Step, n *engine.Node, req *remote.GatherRequest) {
	prefetchStart(e, n, req)
}

// Run decides for every target, then starts and rolls (runStart).
func (*Start) Run(ctx context.Context, e *engine.Engine, s playbook.Step) []*engine.Result {
	return runStart(ctx, e, s)
}

func prefetchStart(e *engine.Engine, n *engine.Node, req *remote.GatherRequest) {
	st := e.PB.Start
	req.Contents = append(req.Contents, n.Home(startedMarker), n.Home(setupMarker), n.Home(st.PidFile))
	req.Probes["alive:"+n.Name()] = aliveScript(n.Home(st.PidFile))
	if sc, err := membersScript(e, n); err == nil {
		req.Probes["members:"+n.Name()] = sc
	}
}

// aliveScript prints the pid in pidFile if that process exists. It runs
// unprivileged and forks nothing (read and test are shell built-ins); kill -0
// would fail on another user's process.
func aliveScript(pidFile string) string {
	return fmt.Sprintf(`read -r pid < %s && [ -n "$pid" ] && [ -d "/proc/$pid" ] && echo "$pid"`, remote.Quote(pidFile))
}

// membersScript prints the membership lines logged since the node last started.
func membersScript(e *engine.Engine, n *engine.Node) (string, error) {
	st := e.PB.Start
	joined, left, err := memberPatterns(st)
	if err != nil {
		return "", err
	}
	jp, _ := joined.LiteralPrefix()
	lp, _ := left.LiteralPrefix()
	return fmt.Sprintf(`awk -v s=%s -v j=%s -v l=%s 'index($0, s) { buf = ""; next } index($0, j) || index($0, l) { buf = buf $0 "\n" } END { printf "%%s", buf }' %s 2>/dev/null`,
		remote.Quote(st.StartingLine), remote.Quote(jp), remote.Quote(lp), remote.Quote(n.Home(st.Log))), nil
}

func memberPatterns(st playbook.Start) (joined, left *regexp.Regexp, err error) {
	if joined, err = regexp.Compile(st.JoinedPattern); err != nil {
		return nil, nil, fmt.Errorf("playbook joined_pattern: %w", err)
	}
	if left, err = regexp.Compile(st.LeftPattern); err != nil {
		return nil, nil, fmt.Errorf("playbook left_pattern: %w", err)
	}
	return joined, left, nil
}

// membersSeen replays joined/left lines into the set of peer addresses a node sees.
func membersSeen(lines string, joined, left *regexp.Regexp) map[string]bool {
	seen := map[string]bool{}
	for _, l := range strings.Split(lines, "\n") {
		if m := joined.FindStringSubmatch(l); m != nil {
			seen[m[1]] = true
		} else if m := left.FindStringSubmatch(l); m != nil {
			delete(seen, m[1])
		}
	}
	return seen
}

// fingerprint identifies a node's effective configuration: the archive, the
// files carbonctl manages for it and its start arguments.
func fingerprint(ctx context.Context, e *engine.Engine, n *engine.Node) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "archive %s\nargs %s\njava %s\n", e.Arch.SHA256, strings.Join(baseArgs(e, n), " "), n.JavaHome())
	for _, p := range n.ManagedFiles() {
		f, err := n.Host.Read(ctx, p)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %s\n", p, engine.ContentSum(f))
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// baseArgs are the start arguments of a node, without the setup argument.
func baseArgs(e *engine.Engine, n *engine.Node) []string {
	if n.Vars.Node.IsManager {
		return e.PB.Start.ManagerArgs
	}
	return e.PB.Start.WorkerArgs
}

// launch stops the node if needed, starts it as the product user (through
// its systemd unit where it has one, else detached with nohup), waits for
// the started line and records the configuration it runs with.
func launch(ctx context.Context, e *engine.Engine, n *engine.Node, d startDecision, args []string, pid, fp string, res *engine.Result) error {
	if d.action == actRestart {
		if err := stopNode(ctx, e, n); err != nil {
			return err
		}
	}
	began := time.Now()
	offset, launcher, writer, err := startNode(ctx, e, n, args, d.setup)
	if err != nil {
		return err
	}
	if err := awaitStarted(ctx, e, n, offset, launcher, writer); err != nil {
		return err
	}
	res.Note = fmt.Sprintf("started in %.1fs", time.Since(began).Seconds())
	if unit, ok := ServiceUnit(e, n); ok {
		res.Note += " by systemd (" + unit + ")"
		if d.setup {
			if err := engine.RunScript(ctx, n.Host, "root", "rm -f "+remote.Quote(systemd.SetupEnvFile(unit)), nil, "remove the setup argument of "+unit); err != nil {
				return err
			}
		}
	}
	if err := e.WriteFile(ctx, n.Host, n.Home(startedMarker), []byte(fp+"\n"), n.ProductWrite(0o644)); err != nil {
		return fmt.Errorf("record the started configuration of %s: %w", n.Name(), err)
	}
	if d.setup {
		if err := e.WriteFile(ctx, n.Host, n.Home(setupMarker), []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), n.ProductWrite(0o644)); err != nil {
			return fmt.Errorf("record the setup start of %s: %w", n.Name(), err)
		}
	}
	return nil
}

// startNode starts node n with args and returns the size of its log before
// the start, the pid to watch during start-up (the nohup launcher, or the
// unit's main process on a systemd host) and the pid of the process writing
// the start output file ("" on a systemd host, whose journal takes it).
func startNode(ctx context.Context, e *engine.Engine, n *engine.Node, args []string, setup bool) (offset int64, pid, writer string, err error) {
	unit, systemd := ServiceUnit(e, n)
	script := launchScript(e, n, args)
	if systemd {
		script = prepareScript(e, n) + "echo \"$off\""
	}
	out, err := engine.RunScriptOut(ctx, n.Host, n.Vars.Product.User, script, nil, "start "+n.Name())
	if err != nil {
		return 0, "", "", err
	}
	fields := strings.Fields(out)
	if systemd && len(fields) == 1 {
		setupArg := ""
		if setup {
			setupArg = e.PB.Start.SetupArg
		}
		main, err := engine.RunScriptOut(ctx, n.Host, "root", unitStartScript(unit, setupArg), nil, "systemctl restart "+unit)
		if err != nil {
			return 0, "", "", err
		}
		offset, _ = strconv.ParseInt(fields[0], 10, 64)
		return offset, strings.TrimSpace(main), "", nil
	}
	if systemd || len(fields) != 3 {
		return 0, "", "", fmt.Errorf("start %s: unexpected launcher output %q", n.Name(), out)
	}
	offset, _ = strconv.ParseInt(fields[0], 10, 64)
	return offset, fields[1], fields[2], nil
}

// unitStartScript (re)starts unit, handing it setupArg ("" = none) through
// its environment file, and prints its main pid. A unit whose process ended
// at once has none: the script then fails with the end of its journal.
func unitStartScript(unit, setupArg string) string {
	env := remote.Quote(systemd.SetupEnvFile(unit))
	pass := "rm -f " + env
	if setupArg != "" {
		pass = fmt.Sprintf("install -d -m 0755 %s && (umask 022 && printf '%%s\\n' %s > %s)",
			remote.Quote(systemd.SetupEnvDir), remote.Quote("CARBONCTL_SETUP_ARG="+setupArg), env)
	}
	u := remote.Quote(unit)
	return fmt.Sprintf(`%s || exit 1
systemctl restart %s || exit 1
pid=$(systemctl show -p MainPID --value %s)
if [ "${pid:-0}" -gt 0 ] 2>/dev/null; then echo "$pid"; exit 0; fi
echo "the server of %s exited at once; its journal says:" >&2
journalctl -u %s -n 20 --no-pager -o cat >&2
exit 1`, pass, u, u, unit, u)
}

// stopNode stops node n: through systemctl where it has a unit, then (also
// for a server started outside the unit, e.g. before it existed) the
// process named in its pid file.
func stopNode(ctx context.Context, e *engine.Engine, n *engine.Node) error {
	if unit, ok := ServiceUnit(e, n); ok {
		if err := engine.RunScript(ctx, n.Host, "root", "systemctl stop "+remote.Quote(unit), nil, "systemctl stop "+unit); err != nil {
			return err
		}
	}
	return engine.RunScript(ctx, n.Host, n.Vars.Product.User, stopScript(n.Home(e.PB.Start.PidFile)), nil, "stop "+n.Name())
}

func stopScript(pidFile string) string {
	return fmt.Sprintf(`pid=$(cat %s 2>/dev/null) || exit 0
[ -n "$pid" ] || exit 0
kill -TERM "$pid" 2>/dev/null || exit 0
i=0
while kill -0 "$pid" 2>/dev/null; do
  i=$((i+1))
  if [ "$i" -ge 600 ]; then kill -KILL "$pid" 2>/dev/null; echo "killed $pid after 60s" >&2; break; fi
  sleep 0.1
done`, remote.Quote(pidFile))
}

// prepareScript, run as the product user before a start, creates the log
// directory, sets $off to the log's size and removes the old pid file.
func prepareScript(e *engine.Engine, n *engine.Node) string {
	st := e.PB.Start
	log := remote.Quote(n.Home(st.Log))
	return fmt.Sprintf(`cd %s || exit 1
mkdir -p "$(dirname %s)"
off=$(wc -c < %s 2>/dev/null || echo 0)
rm -f %s
`, remote.Quote(n.Vars.Node.Home), log, log, remote.Quote(n.Home(st.PidFile)))
}

// startOutput is the file, beside the product's log, that takes what the
// start script prints (the previous start's is kept as startOutput.1);
// startOutputCap bounds it: Carbon also logs to its console. On a systemd
// host the unit's journal takes it instead.
const (
	startOutput    = "carbonctl-start.out"
	startOutputCap = 1 << 20
)

// startOutputPath is where n's start script output goes.
func startOutputPath(e *engine.Engine, n *engine.Node) string {
	return path.Join(path.Dir(n.Home(e.PB.Start.Log)), startOutput)
}

// launchScript starts the product in the background with the node's
// JAVA_HOME, its output going to the bounded start output file, and prints
// the log size before the start, the start script's pid and the pid of the
// process writing the output file.
func launchScript(e *engine.Engine, n *engine.Node, args []string) string {
	quoted := make([]string, len(args))
	for i, a := range args {
		quoted[i] = remote.Quote(a)
	}
	out := remote.Quote(startOutputPath(e, n))
	pidFile := remote.Quote(startOutputPath(e, n) + ".pid")
	return prepareScript(e, n) + fmt.Sprintf(`rm -f %s
[ ! -f %s ] || mv -f %s %s.1
JAVA_HOME=%s
export JAVA_HOME
nohup sh -c 'echo $$ > "$0"; exec sh "$@"' %s %s %s </dev/null 2>&1 | nohup head -c %d > %s 2>/dev/null &
writer=$!
i=0
while [ ! -s %s ] && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i+1)); done
echo "$off $(cat %s 2>/dev/null) $writer"
rm -f %s`, pidFile, out, out, out, remote.Quote(n.JavaHome()),
		pidFile, remote.Quote(e.PB.Start.Script), strings.Join(quoted, " "), startOutputCap, out,
		pidFile, pidFile, pidFile)
}

// awaitStarted polls the node's log until the product says it started, the
// launcher dies, or the start timeout passes. A launcher that died shows the
// start script's last lines beside the errors the product logged.
func awaitStarted(ctx context.Context, e *engine.Engine, n *engine.Node, offset int64, launcher, writer string) error {
	st := e.PB.Start
	poll := fmt.Sprintf(`tail -c +%d %s 2>/dev/null | grep -F -e %s -e ' ERROR ' | tail -n 20
if kill -0 %s 2>/dev/null; then echo CARBONCTL-ALIVE; exit 0; fi
echo CARBONCTL-DEAD
i=0
w=%s
while [ -n "$w" ] && kill -0 "$w" 2>/dev/null && [ "$i" -lt 40 ]; do sleep 0.05; i=$((i+1)); done
tail -c 4096 %s 2>/dev/null | tail -n %d`,
		offset+1, remote.Quote(n.Home(st.Log)), remote.Quote(st.StartedPattern), remote.Quote(launcher), remote.Quote(writer), remote.Quote(startOutputPath(e, n)), startFailureLines)
	deadline := time.Now().Add(e.Opts.StartTimeout)
	for {
		out, err := engine.RunScriptOut(ctx, n.Host, n.Vars.Product.User, poll, nil, "watch the log of "+n.Name())
		if err != nil {
			return err
		}
		if strings.Contains(out, st.StartedPattern) {
			return nil
		}
		logged, said, dead := strings.Cut(out, "CARBONCTL-DEAD\n")
		logged = strings.TrimSpace(strings.ReplaceAll(logged, "CARBONCTL-ALIVE", ""))
		if dead {
			return startFailure(ctx, e, n, said, logged)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not log %q within %s; errors logged: %s (start script output: %s)", n.Name(), st.StartedPattern, e.Opts.StartTimeout,
				printable(remote.LastLines(logged, 5)), startOutputPath(e, n))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// startFailureLines is how many of the start script's last lines a failed
// start shows.
const startFailureLines = 15

// startFailure describes a start that ended before the product said it
// started: the start script's last lines (on a systemd host, the unit's
// journal, read as root: it is only printed), then the errors in its log.
func startFailure(ctx context.Context, e *engine.Engine, n *engine.Node, said, logged string) error {
	source := "last lines of " + startOutputPath(e, n)
	if unit, ok := ServiceUnit(e, n); ok {
		source = "journal of " + unit
		said, _ = engine.RunScriptOut(ctx, n.Host, "root", fmt.Sprintf("journalctl -u %s -n %d --no-pager -o cat", remote.Quote(unit), startFailureLines), nil, "read the journal of "+unit)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s stopped during start-up", n.Name())
	b.WriteString("\n" + indentBlock(fmt.Sprintf("%s printed (%s):", e.PB.Start.Script, source), said))
	b.WriteString("\n" + indentBlock(fmt.Sprintf("%s says:", n.Home(e.PB.Start.Log)), remote.LastLines(logged, 5)))
	return fmt.Errorf("%s", b.String())
}

// indentBlock is a heading followed by text's lines, indented, control
// characters removed; "(nothing)" when text is blank.
func indentBlock(heading, text string) string {
	text = strings.TrimSpace(printable(text))
	if text == "" {
		text = "(nothing)"
	}
	return heading + "\n    " + strings.ReplaceAll(text, "\n", "\n    ")
}

// printable removes control characters (terminal escapes, carriage
// returns, NULs...) from remote output, keeping newlines and tabs.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || !unicode.IsControl(r) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, "?"))
}
