// Command kwok-local is kwok (sigs.k8s.io/kwok, the version in go.mod): it
// plays the kubelet of a simulated node, taking Pods through the Stages in
// its --config without running a container (docs/decisions/015-real-tekton.md).
// It is kwok's own command; the one addition is that, like kube-testserver,
// it exits when its stdin (a pipe held by the process that started it)
// closes (docs/decisions/007).
package main

import (
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/spf13/pflag"

	"sigs.k8s.io/kwok/pkg/config"
	"sigs.k8s.io/kwok/pkg/kwok/cmd"
	"sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}

	ctx := signals.SetupSignalContext()
	exitWithStdin()
	ctx, logger := log.InitFlags(ctx, flagset)
	ctx, err := config.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("Init config flags", "err", err)
		os.Exit(1)
	}
	command := cmd.NewCommand(ctx)
	command.PersistentFlags().AddFlagSet(flagset)
	if err := command.ExecuteContext(ctx); err != nil {
		logger.Error("Execute exit", "err", err)
		os.Exit(1)
	}
}

func exitWithStdin() {
	info, err := os.Stdin.Stat()
	if err != nil || info.Mode()&(os.ModeNamedPipe|os.ModeSocket) == 0 {
		return
	}
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		fmt.Fprintln(os.Stderr, "kwok-local: stdin closed (the process that started it is gone): shutting down")
		_ = syscall.Kill(os.Getpid(), syscall.SIGTERM)
	}()
}
