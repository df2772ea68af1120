// Command vigil is the single binary of Vigil: the node daemon, its
// subsystems (re-executed as children) and the operator's tools.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"
)

// defaultConfig is where a packaged Vigil looks for its keepalived.conf.
const defaultConfig = "/etc/vigil/keepalived.conf"

func main() {
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

// exitError carries a process exit status out of a command without
// printing anything more: each command has already said why.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func run(args []string, stdout, stderr io.Writer) int {
	app := &cli.App{
		Name:      "vigil",
		Usage:     "keep virtual IPs on exactly one healthy host (reads keepalived.conf)",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: append([]*cli.Command{
			runCommand(),
			checkConfigCommand(),
			vrrpdCommand(),
			genhashCommand(),
			checkdCommand(),
			lvsdCommand(),
			agentCommand(),
			arbiterCommand(),
		}, controlCommands()...),
		// Exit codes are decided by run, not by urfave/cli calling os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	if err := app.Run(args); err != nil {
		var code exitError
		if errors.As(err, &code) {
			return int(code)
		}
		fmt.Fprintf(stderr, "vigil: %v\n", err)
		return 2
	}
	return 0
}

// upgradeMarker is set with -ldflags -X by tests that need a second,
// different binary (vigil upgrade); it has no other use.
var upgradeMarker string

var _ = upgradeMarker
