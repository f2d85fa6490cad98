package cli

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
)

// versionCommand is `tokentop version`, the same as --version (k9s and gh
// users type the command).
func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the VCS revision it was built from",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(a.io.out, version())
			return err
		},
	}
}

// moduleVersion is the version set at link time (providers.Version), else
// the module version from the build info ("v1.2.0", or a pseudo-version
// for a build from a checkout).
func moduleVersion() string {
	if v := providers.Version; v != "" && v != "dev" {
		return v
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel" // built without module or VCS information (-buildvcs=false)
}

// version is what --version prints: the module version and the VCS revision
// it was built from, "tokentop v1.2.0 (rev 3f2a9c1)" or
// "tokentop v0.0.0-20261203072800-3f2a9c1e2d4b+dirty (rev 3f2a9c1, modified)".
func version() string {
	out := "tokentop " + moduleVersion()
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	var rev string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return out
	}
	out += " (rev " + rev[:min(len(rev), 7)]
	if modified {
		out += ", modified"
	}
	return out + ")"
}
