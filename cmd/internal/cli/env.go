package cli

import (
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// annotationEnv is the pflag annotation that names a flag's environment
// fallback.
const annotationEnv = "tokentop/env"

// Environment variables shared by several commands' flags.
const (
	envJSON       = "TOKENTOP_JSON"
	envAPIVersion = "TOKENTOP_API_VERSION"
)

// bindEnv makes env the fallback of the flag called name in fs, and says so
// in its help. The rule, for every bound flag: the flag when given, else the
// variable when set and not empty, else the default; a variable that does
// not parse is a usage error naming it.
//
// Flags that choose what to act on (labels, --all, --label) or skip a
// safeguard (--yes, --reveal, --with-secrets, --replace, --insecure-http)
// have no fallback: a variable left set in a shell must never delete,
// print or send a secret the user did not ask for on that command line.
func bindEnv(fs *pflag.FlagSet, name, env string) {
	f := fs.Lookup(name)
	if f == nil {
		panic("bindEnv: no flag --" + name) // a programming error, caught by any test
	}
	f.Usage += " (env " + env + ")"
	if f.Annotations == nil {
		f.Annotations = map[string][]string{}
	}
	f.Annotations[annotationEnv] = []string{env}
}

// applyEnv sets cmd's flags that were not given from their environment
// variables, once, before the command runs.
func (a *app) applyEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		envs := f.Annotations[annotationEnv]
		if err != nil || len(envs) == 0 || f.Changed {
			return
		}
		// demo's throwaway vault must never become the vault the shell
		// points at: only an explicit --vault makes demo use a real one.
		if cmd.Name() == "demo" && f.Name == "vault" {
			return
		}
		env := envs[0]
		v := strings.TrimSpace(a.io.getenv(env))
		if v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = usagef("%s=%q: %v (it stands for --%s)", env, v, serr, f.Name)
			return
		}
		if a.fromEnv == nil {
			a.fromEnv = map[string]string{}
		}
		a.fromEnv[f.Name] = env + "=" + v
	})
	return err
}

// flagSource names a flag's value and where it came from, for errors about
// it: "--timeout 0s" or "TOKENTOP_TIMEOUT=0s".
func (a *app) flagSource(cmd *cobra.Command, name string) string {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return "--" + name
	}
	if src, ok := a.fromEnv[name]; ok && !f.Changed {
		return src
	}
	return "--" + name + " " + f.Value.String()
}
