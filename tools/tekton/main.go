// Command tekton-local runs Tekton Pipelines' webhook or controller, built from
// the github.com/tektoncd/pipeline module named in go.mod, as a process beside
// the local control plane (docs/decisions/015-real-tekton.md):
//
//	tekton-local webhook      defaulting, validation and conversion webhooks
//	tekton-local controller   the PipelineRun, TaskRun and ResolutionRequest reconcilers
//
// Both are composed exactly as Tekton's cmd/webhook and cmd/controller compose
// them, from Tekton's own packages; what differs is only what a process on a
// shared machine needs: knative's health-probe server (fixed port 8080) is off,
// no probe server of Tekton's own is started (ports are taken from the
// environment by knative: WEBHOOK_PORT, METRICS_PROMETHEUS_PORT, PROFILING_PORT),
// and, like kube-testserver, the process exits when its stdin (a pipe held by
// the process that started it) closes (docs/decisions/007).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"

	"knative.dev/pkg/injection/sharedmain"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tekton-local webhook|controller [flags]")
		os.Exit(2)
	}
	component := os.Args[1]
	// knative and Tekton parse the process's flags themselves.
	os.Args = append([]string{os.Args[0]}, os.Args[2:]...)
	exitWithStdin(component)
	switch component {
	case "webhook":
		runWebhook()
	case "controller":
		runController()
	default:
		fmt.Fprintf(os.Stderr, "tekton-local: unknown component %q (webhook or controller)\n", component)
		os.Exit(2)
	}
}

// withoutProbes turns off knative's health-probe server: it listens on the
// fixed port 8080, which a second local cluster on the same machine (another
// test run, `make run`) would find taken, and nothing here probes it.
func withoutProbes(ctx context.Context) context.Context {
	return sharedmain.WithHealthProbesDisabled(ctx)
}

// exitWithStdin sends the process SIGTERM when its stdin is a pipe or socket
// and it closes: the process that started it is gone, however it died.
func exitWithStdin(component string) {
	info, err := os.Stdin.Stat()
	if err != nil || info.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		fmt.Fprintf(os.Stderr, "tekton-local %s: stdin closed (the process that started it is gone): shutting down\n", component)
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
}
