// Package steps holds carbonctl's step kinds, one type per file, each
// registered by name in registry.go, and the operations built from them
// (start, stop, restart and retire in operate.go and rolling.go, status in
// status.go). The engine that runs them is pkg/engine: a kind implements
// playbook.Kind plus the optional engine interfaces (engine.NodeActor,
// engine.StepRunner, engine.Prefetcher, ...) that say what it reads and does.
package steps
