package main

import (
	"github.com/urfave/cli/v2"

	"github.com/vigil-ha/vigil/checkd/genhash"
)

// genhashCommand is keepalived's genhash: fetch a URL as HTTP_GET/SSL_GET
// do and print the MD5 digest of the body for a url block's digest line.
// Flags are keepalived's (short and long), parsed by checkd/genhash.
func genhashCommand() *cli.Command {
	return &cli.Command{
		Name:            "genhash",
		Usage:           "print the MD5 digest of a URL's body for HTTP_GET/SSL_GET digest lines (keepalived's genhash)",
		UsageText:       "vigil genhash [-S] [-I] [--sni NAME] [-V HOST] [-P 1.0|1.0c|1.1] [-t SECONDS] -s ADDRESS -p PORT -u URL",
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			if code := genhash.Main(c.Context, c.Args().Slice(), c.App.Writer, c.App.ErrWriter); code != 0 {
				return exitError(code)
			}
			return nil
		},
	}
}
