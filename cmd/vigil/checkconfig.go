package main

import (
	"encoding/json"
	"fmt"
	"net"

	"github.com/urfave/cli/v2"

	"github.com/vigil-ha/vigil/config"
)

// checkConfigCommand validates a keepalived.conf the way the daemon would
// read it, so operators can test a file before a reload or a migration.
func checkConfigCommand() *cli.Command {
	return &cli.Command{
		Name:  "check-config",
		Usage: "read and validate a configuration; exit 0 when usable, 1 on errors",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "use-file", Aliases: []string{"f"}, Value: defaultConfig, Usage: "configuration `FILE`"},
			&cli.StringFlag{Name: "config-id", Aliases: []string{"i"}, Usage: "select @`ID` conditional lines (keepalived -i)"},
			&cli.BoolFlag{Name: "strict", Usage: "treat warnings as errors"},
			&cli.StringFlag{Name: "dump", Usage: "print the resolved model in `FORMAT` (json)"},
		},
		Action: checkConfig,
	}
}

func checkConfig(c *cli.Context) error {
	dump := c.String("dump")
	if dump != "" && dump != "json" {
		fmt.Fprintf(c.App.ErrWriter, "vigil check-config: --dump %q: only json is supported\n", dump)
		return exitError(2)
	}
	path := c.String("use-file")
	cfg, diags := config.Load(path, config.Options{
		ConfigID:        c.String("config-id"),
		InterfaceExists: interfaceExists,
	})
	for _, d := range diags {
		fmt.Fprintln(c.App.ErrWriter, d)
	}
	errs, warns := len(diags.Errors()), len(diags.Warnings())
	failed := errs > 0 || (c.Bool("strict") && warns > 0)

	if dump == "json" && !failed {
		enc := json.NewEncoder(c.App.Writer)
		enc.SetIndent("", "  ")
		if err := enc.Encode(cfg); err != nil {
			return fmt.Errorf("check-config: encode model: %w", err)
		}
	}
	switch {
	case failed && errs == 0:
		fmt.Fprintf(c.App.ErrWriter, "%s: %d warning(s), treated as errors by --strict\n", path, warns)
		return exitError(1)
	case failed:
		fmt.Fprintf(c.App.ErrWriter, "%s: configuration unusable: %d error(s), %d warning(s)\n", path, errs, warns)
		return exitError(1)
	}
	fmt.Fprintf(c.App.ErrWriter, "%s: configuration OK: %d vrrp_instance(s), %d virtual_server(s), %d warning(s)\n",
		path, len(cfg.Instances), len(cfg.VirtualServers), warns)
	return nil
}

// interfaceExists lets validation warn about interfaces this host lacks.
func interfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}
